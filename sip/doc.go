// Package sip is the pools of the simulated SIP network: each Front End pool is a real SIP
// server (registrar that is also its partner's backup registrar, a stateful proxy that
// routes orbit numbers before users, and the Call Park application), and the Network runs
// a deployment of them and its disaster-recovery operations. The simulated phones are
// another role, in package sip/phone: the two talk only through SIP, and the headers they
// agree on are package sip/lync's. The Network tells phones what real phones learn from
// DNS and provisioning (phone.Directory), never a pool.
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
