// Package loadphone is a population of cheap simulated phones for load rehearsals: tens of
// thousands of users in one process, talking to the pools only through SIP.
//
// The simulated phone of package sip is one sipgo user agent, one SIP socket and one RTP
// socket per phone: faithful, and far too heavy for 80,000 users. Here:
//
//   - Phones share a few UDP sockets (Config.Sockets). Each phone's Contact is
//     sip:<user>@<socket address>, so a request that reaches a socket is handed to the
//     phone its Request-URI names, and a response to the client transaction its Via branch
//     names. One goroutine reads each socket and handles what it reads in arrival order
//     (a BYE is never handled before the ACK that came first).
//   - A phone "on TCP" registers over its own TCP connection to its registrar and places
//     its calls over it, so the pool sees one connection per phone and loses it in an
//     outage (the phone notices at once, as a real one does). Its Contact says
//     transport=tcp at its shared socket, which also listens on TCP: a pool keeps a dialog
//     on the INVITE's transport and connects there for the dialog's requests (a
//     retrieval's re-INVITE). Load phones send their own in-dialog requests over UDP.
//   - Transactions are light and our own (tx.go): RFC 3261 retransmissions over UDP
//     (Timers A/E up to T2), the 2xx and non-2xx retransmissions of an INVITE server
//     transaction (Timer G) until the ACK, and dialog-level duplicate detection by CSeq. A
//     phone waits for a server at most Config.RequestTimeout before it calls it dead: the
//     rehearsals compress time, so RFC 3261's 32 s Timer F would outlast a whole phase.
//   - No RTP by default: a call's SDP points at one shared sink socket that discards what
//     arrives (music on hold, say). A caller that wants media measured passes its own SDP
//     (from a sip/media Stream) to Invite and Answer.
//
// The package knows nothing of disaster recovery or of the deployment model: it
// registers (home registrar first, then its backup, following 301 and Retry-After),
// calls, answers, cancels, hangs up, follows a REFER (parking is a blind transfer to the
// Call Park application) and answers re-INVITEs, as any phone would.
package loadphone
