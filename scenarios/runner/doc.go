// Package runner replays a loaded scenario over the product itself: a sip.Network of
// pools on loopback, one simulated phone per user, real SIP and RTP, and a virtual clock
// that advance steps move. A failed expectation is recorded with its file:line, what was
// expected and what happened, and the scenario goes on, so one replay reports everything
// that is wrong in it.
package runner
