// Package pcap writes packet captures that Wireshark, tshark and sngrep open: the classic
// libpcap file format (tcpdump.org's pcap-savefile(5), draft-ietf-opsawg-pcap), microsecond
// timestamps, link type Ethernet.
//
// The simulator sees payloads, not frames: sipgo hands its tracer the bytes of a SIP
// message and the two addresses, and an RTP stream knows the datagram it sent. A [Writer]
// frames each payload as a capture on the loopback interface shows it: an Ethernet header
// with zero addresses, IPv4 (RFC 791) or IPv6 (RFC 8200), and UDP (RFC 768) or TCP
// (RFC 9293), lengths and checksums filled in, so that a dissector validating them finds
// nothing wrong. TCP gets sequence and acknowledgement numbers that follow the bytes of
// each direction, which is what a dissector needs to reassemble a SIP message split
// across segments (RFC 3261 §18.3 framing by Content-Length).
//
// Timestamps are the caller's: a replay stamps its packets with the scenario's virtual
// clock, serve with the wall clock.
package pcap
