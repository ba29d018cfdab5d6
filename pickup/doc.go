// Package pickup is Group Call Pickup as the Lync Server 2013 Call Park application runs it:
// which group (pickup number) each user belongs to, and, per number, the queue of calls
// ringing a member that another user may answer by dialling the number.
//
// It is pure: no sockets, no SIP, no clock reads. Callers pass the time in and carry out
// what comes back. The rules that depend on the deployment (resiliency mode, which pool's
// Call Park application owns a number) live in sip/topology, which decides whether a call
// is entered in a queue at all.
//
// Rules reproduced (SPEC section 3, Microsoft "Plan for Group Call Pickup"):
//   - a user belongs to at most one group; one number serves many users;
//   - with several calls queued for a number, the one ringing longest is answered;
//   - a call leaves the queue when answered, picked up, cancelled or forwarded.
package pickup
