// Package phone is the simulated SIP phone: a real user agent on its own UDP socket that
// registers (home pool, then backup registrar, following 301s), calls, answers, parks and
// transfers by REFER, picks up, retrieves, and sends and receives G.711 RTP; and the Fleet
// of a deployment's phones with its "no dead legs" invariant.
//
// A phone sees the pools only through SIP, as a desk phone does: it never imports package
// sip (the pools), and the pools never import it. What both sides say is in sip/lync; what
// a phone learns of the deployment (its domain and registrars) it gets from a Directory,
// which package sip's Network provides.
package phone
