// Package media is the simulator's real media plane: G.711 RTP streams over UDP and
// the SDP offers and answers that point them at each other.
//
// Why real packets: the features under test (Call Park, Group Call Pickup, music on
// hold) are only correct when the audio ends up where the signalling says it does.
// A parked caller must hear the hold tone, a retrieved call must carry both voices,
// a picked-up call must not leave media flowing to the phone that stopped ringing.
// Checking SDP text alone cannot show that; counting RTP packets per SSRC can.
//
// A [Stream] is one RTP endpoint (one UDP socket). It sends 20 ms PCMU (or PCMA)
// packets to one remote address and counts everything it receives per SSRC: packets,
// sequence gaps (loss), duplicates, reordering and the longest silence between two
// packets, which is how a test sees that media paused during a hold or a transfer.
// Sending runs on a wall-clock ticker, not on the scenario's virtual clock: RTP is
// real time by nature, and the receive side measures real inter-arrival times.
//
// [Offer], [Answer] and [ParseAudio] are the SDP side of a phone (RFC 3264 offer/answer,
// RFC 4566 syntax, built and parsed with pion/sdp). [Bridge] is the SDP side of the
// Call Park application: it answers one party's offer with the other party's media
// address, so that RTP flows end to end and the application stays out of the media path.
package media
