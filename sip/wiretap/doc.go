// Package wiretap shows each owner the SIP messages and RTP datagrams of its addresses,
// once each, as they were on the wire: a replay's trace and capture, or serve's capture.
//
// Its sources are process-wide, one of each: sipgo's SIP tracer (sipgo/sip.SIPDebugTracer,
// which sees the bytes a transport writes or reads, decrypted when the connection is TLS)
// and the RTP tap of package media. Replays run in parallel in one process, so the tap
// hands a packet to the [Sink] that owns its source or destination address ([Own]), and
// to the sink that took the rest ([OwnRest]) when nobody owns either. An owner of SIP
// addresses comes to own the RTP addresses their SDP advertises (c= and m=audio, RFC
// 4566), as Wireshark follows media from the signalling: that is how a scenario's RTP is
// told from another's.
//
// When both ends of a packet are in the process (a replay's phones and pools), the tracer
// sees it twice, written and read. A sink gets it once, at its first sight: UDP datagrams
// are paired by content, one write with one read, so a retransmission is kept; a TCP
// direction is followed by byte offset, so reads that split or join the writes add no
// byte twice.
package wiretap
