package media

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// BenchmarkReceive measures how many packets per second a Stream can count: a
// second socket sends b.N G.711 packets through loopback in a tight loop, and
// the clock stops at the arrival of the last packet counted. Packets the kernel
// drops because the stream could not keep up are reported as lost-%; pkts/s is
// what was actually counted.
func BenchmarkReceive(b *testing.B) {
	s, err := Listen("127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	const ssrc = 0xbe7c
	h := rtp.Header{Version: 2, SSRC: ssrc}
	pkt := make([]byte, 12+SamplesPerPacket)
	copy(pkt[12:], Silence(PayloadPCMU))
	dst := s.LocalAddr()

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		h.SequenceNumber = uint16(i)
		h.MarshalTo(pkt)
		if _, err := conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			b.Fatal(err)
		}
	}
	src := settle(s, ssrc, b.N)
	b.StopTimer()
	if src.Received == 0 {
		b.Fatal("nothing received")
	}
	b.ReportMetric(float64(src.Received)/src.Last.Sub(start).Seconds(), "pkts/s")
	b.ReportMetric(100*float64(b.N-src.Received)/float64(b.N), "lost-%")
}

// settle waits until ssrc has n packets or the count stops moving for 100 ms.
func settle(s *Stream, ssrc uint32, n int) SourceStats {
	var last SourceStats
	for still := 0; still < 20; {
		src := s.Stats().Sources[ssrc]
		if src.Received >= n {
			return src
		}
		if src.Received == last.Received {
			still++
		} else {
			still = 0
		}
		last = src
		time.Sleep(5 * time.Millisecond)
	}
	return last
}

// BenchmarkRecord is the per-packet accounting alone, without the socket.
func BenchmarkRecord(b *testing.B) {
	var src source
	payload := Silence(PayloadPCMU)
	from := netip.MustParseAddrPort("127.0.0.1:4000")
	now := time.Now()
	b.ReportAllocs()
	for i := range b.N {
		src.record(uint16(i), PayloadPCMU, payload, now, from)
	}
}

// BenchmarkSendPacket is the cost of building one outgoing packet.
func BenchmarkSendPacket(b *testing.B) {
	tx := newSender(1, 0, 0)
	buf := make([]byte, maxPacket)
	now := time.Now()
	b.ReportAllocs()
	for range b.N {
		if _, err := tx.next(buf, now); err != nil {
			b.Fatal(err)
		}
	}
}
