package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"
)

// File format constants (pcap-savefile(5)).
const (
	magicMicros  = 0xa1b2c3d4 // microsecond timestamps, written in our byte order
	versionMajor = 2
	versionMinor = 4
	snapLen      = 262144 // what tcpdump uses: no payload is cut
	linkEthernet = 1      // LINKTYPE_ETHERNET, what a capture on Linux's lo gives
)

// Frame header sizes.
const (
	ethernetLen = 14
	ipv4Len     = 20
	ipv6Len     = 40
	udpLen      = 8
	tcpLen      = 20
	// maxIPv4 is the largest IPv4 datagram (the total length is 16 bits). Loopback's MTU
	// is 65536, so the kernel never fragments what the simulator sends there.
	maxIPv4 = 65535
	// maxSegment bounds the payload of one TCP segment; a longer write is split.
	maxSegment = maxIPv4 - ipv4Len - tcpLen
)

// IP protocol numbers (IANA).
const (
	protoTCP = 6
	protoUDP = 17
)

// TCP flags (RFC 9293 §3.1).
const (
	flagPSH = 0x08
	flagACK = 0x10
)

// ErrTooLarge is returned for a UDP payload no IP datagram can carry.
var ErrTooLarge = errors.New("payload too large for one datagram")

// Writer writes a capture. It is safe for concurrent use; packets are written in the
// order of the calls.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	ipID uint16
	// next is the sequence number of the next byte of each TCP direction.
	next map[flow]uint32
	buf  []byte
}

// flow is one direction of a TCP connection.
type flow struct{ from, to netip.AddrPort }

// NewWriter writes the file header to w and returns a Writer that appends packets.
func NewWriter(w io.Writer) (*Writer, error) {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], magicMicros)
	binary.LittleEndian.PutUint16(h[4:], versionMajor)
	binary.LittleEndian.PutUint16(h[6:], versionMinor)
	// thiszone and sigfigs (8:16) are zero: timestamps are UTC.
	binary.LittleEndian.PutUint32(h[16:], snapLen)
	binary.LittleEndian.PutUint32(h[20:], linkEthernet)
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("pcap header: %w", err)
	}
	return &Writer{w: w, next: map[flow]uint32{}}, nil
}

// UDP writes one datagram from -> to, captured at at.
func (w *Writer) UDP(at time.Time, from, to netip.AddrPort, payload []byte) error {
	from, to = unmap(from), unmap(to)
	if err := checkPair(from, to); err != nil {
		return err
	}
	if len(payload) > maxIPv4-ipv4Len-udpLen {
		return fmt.Errorf("udp %s -> %s: %d bytes: %w", from, to, len(payload), ErrTooLarge)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	seg := make([]byte, udpLen+len(payload))
	binary.BigEndian.PutUint16(seg[0:], from.Port())
	binary.BigEndian.PutUint16(seg[2:], to.Port())
	binary.BigEndian.PutUint16(seg[4:], uint16(len(seg)))
	copy(seg[udpLen:], payload)
	sum := transportChecksum(from.Addr(), to.Addr(), protoUDP, seg)
	if sum == 0 {
		sum = 0xffff // RFC 768: a computed zero is sent as all ones (zero means "none")
	}
	binary.BigEndian.PutUint16(seg[6:], sum)
	return w.packet(at, from.Addr(), to.Addr(), protoUDP, seg)
}

// TCP writes the bytes one end of a connection sent (from -> to) at at, as one or more
// segments that carry on the sequence numbers of that direction. A direction seen for the
// first time starts at sequence number 1, as Wireshark's relative numbers do.
func (w *Writer) TCP(at time.Time, from, to netip.AddrPort, payload []byte) error {
	from, to = unmap(from), unmap(to)
	if err := checkPair(from, to); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(payload) > 0 {
		n := min(len(payload), maxSegment)
		if err := w.segment(at, from, to, payload[:n]); err != nil {
			return err
		}
		payload = payload[n:]
	}
	return nil
}

// segment writes one TCP segment. w.mu is held.
func (w *Writer) segment(at time.Time, from, to netip.AddrPort, payload []byte) error {
	f := flow{from, to}
	seq, ok := w.next[f]
	if !ok {
		seq = 1
	}
	w.next[f] = seq + uint32(len(payload))
	ack, acked := w.next[flow{to, from}]
	seg := make([]byte, tcpLen+len(payload))
	binary.BigEndian.PutUint16(seg[0:], from.Port())
	binary.BigEndian.PutUint16(seg[2:], to.Port())
	binary.BigEndian.PutUint32(seg[4:], seq)
	flags := byte(flagPSH)
	if acked {
		binary.BigEndian.PutUint32(seg[8:], ack)
		flags |= flagACK
	}
	seg[12] = (tcpLen / 4) << 4 // data offset: no options
	seg[13] = flags
	binary.BigEndian.PutUint16(seg[14:], 65535) // window
	copy(seg[tcpLen:], payload)
	binary.BigEndian.PutUint16(seg[16:], transportChecksum(from.Addr(), to.Addr(), protoTCP, seg))
	return w.packet(at, from.Addr(), to.Addr(), protoTCP, seg)
}

// packet wraps a UDP or TCP segment in IP and Ethernet and writes its record. w.mu is held.
func (w *Writer) packet(at time.Time, src, dst netip.Addr, proto byte, seg []byte) error {
	var ipHeader []byte
	var etherType uint16
	if src.Is4() {
		ipHeader, etherType = w.ipv4(src, dst, proto, len(seg)), 0x0800
	} else {
		ipHeader, etherType = ipv6(src, dst, proto, len(seg)), 0x86dd
	}
	frameLen := ethernetLen + len(ipHeader) + len(seg)
	w.buf = w.buf[:0]
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(at.Unix()))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(at.Nanosecond()/1000))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(frameLen)) // captured
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(frameLen)) // on the wire
	w.buf = append(w.buf, make([]byte, 12)...)                        // destination and source MAC: zero, as on lo
	w.buf = binary.BigEndian.AppendUint16(w.buf, etherType)
	w.buf = append(w.buf, ipHeader...)
	w.buf = append(w.buf, seg...)
	if _, err := w.w.Write(w.buf); err != nil {
		return fmt.Errorf("pcap record: %w", err)
	}
	return nil
}

// ipv4 builds an IPv4 header (RFC 791 §3.1) without options. w.mu is held.
func (w *Writer) ipv4(src, dst netip.Addr, proto byte, payloadLen int) []byte {
	h := make([]byte, ipv4Len)
	h[0] = 0x45 // version 4, header length 5 words
	binary.BigEndian.PutUint16(h[2:], uint16(ipv4Len+payloadLen))
	w.ipID++
	binary.BigEndian.PutUint16(h[4:], w.ipID)
	binary.BigEndian.PutUint16(h[6:], 0x4000) // don't fragment
	h[8] = 64                                 // TTL
	h[9] = proto
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	binary.BigEndian.PutUint16(h[10:], ^fold(sum(0, h)))
	return h
}

// ipv6 builds an IPv6 header (RFC 8200 §3).
func ipv6(src, dst netip.Addr, proto byte, payloadLen int) []byte {
	h := make([]byte, ipv6Len)
	h[0] = 0x60 // version 6
	binary.BigEndian.PutUint16(h[4:], uint16(payloadLen))
	h[6] = proto
	h[7] = 64 // hop limit
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return h
}

// transportChecksum is the UDP or TCP checksum of seg (its checksum field zero), over
// the pseudo-header of RFC 768 / RFC 9293 §3.1 (IPv4) or RFC 8200 §8.1 (IPv6).
func transportChecksum(src, dst netip.Addr, proto byte, seg []byte) uint16 {
	s, d := src.AsSlice(), dst.AsSlice()
	acc := sum(0, s)
	acc = sum(acc, d)
	acc += uint32(proto) + uint32(len(seg))&0xffff + uint32(len(seg))>>16
	acc = sum(acc, seg)
	return ^fold(acc)
}

// sum adds b to acc as big-endian 16-bit words, a trailing odd byte padded with zero
// (RFC 1071).
func sum(acc uint32, b []byte) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		acc = acc&0xffff + acc>>16 // fold as we go: no overflow however long b is
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

// fold reduces a one's complement sum to 16 bits.
func fold(acc uint32) uint16 {
	for acc > 0xffff {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// checkPair refuses addresses a frame cannot carry: invalid, or of two IP versions.
func checkPair(from, to netip.AddrPort) error {
	if !from.IsValid() || !to.IsValid() {
		return fmt.Errorf("pcap: invalid address %s -> %s", from, to)
	}
	if from.Addr().Is4() != to.Addr().Is4() {
		return fmt.Errorf("pcap: %s -> %s mixes IPv4 and IPv6", from, to)
	}
	return nil
}
