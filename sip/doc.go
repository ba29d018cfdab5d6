// Package sip is the simulated SIP network: each Front End pool is a real SIP server
// (registrar that is also its partner's backup registrar, a stateful proxy that routes orbit
// numbers before users, and the Call Park application), and each phone is a real user agent
// that sends G.711 RTP. It is the only package that speaks SIP (emiago/sipgo) and RTP
// (pion/rtp, through sip/media).
//
// Decisions are not made here: the deployment model (sip/topology) says where a user is
// registered and in which mode, where an INVITE goes and which rejection a caller gets; the
// Group Call Pickup queues are package pickup's. This package turns SIP messages into those
// questions and the answers back into SIP.
//
// Signalling choices, so that ordinary phones (and SIPp) work unchanged:
//   - pools proxy INVITEs statefully without Record-Route, so an established call's
//     in-dialog requests go end to end and survive the loss of the pool that set it up;
//   - a Group Call Pickup is answered by the Call Park application as a back-to-back user
//     agent: it answers the caller's ringing INVITE and the picker's INVITE with each
//     other's SDP (media flows phone to phone), and cancels the callee's branch with
//     "Reason: SIP;cause=200;text="Call completed elsewhere"".
package sip
