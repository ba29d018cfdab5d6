package media

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestTapSeesEveryDatagramSentAndReceived: with a tap installed, each packet a stream
// sends is seen once as sent (from its address, to its remote) and once as received by
// the stream it reaches, with the bytes of the RTP packet; a datagram that is not RTP is
// seen on receipt too, since a capture shows what arrived. Not parallel: the tap is the
// process's.
func TestTapSeesEveryDatagramSentAndReceived(t *testing.T) {
	a, b := listen(t), listen(t)
	type seen struct {
		from, to netip.AddrPort
		sent     bool
	}
	var mu sync.Mutex
	counts := map[seen]int{}
	var seqs []uint16
	SetTap(func(from, to netip.AddrPort, p []byte, sent bool) {
		if from != a.LocalAddr() && to != a.LocalAddr() {
			return // another test's stream
		}
		mu.Lock()
		defer mu.Unlock()
		counts[seen{from, to, sent}]++
		var pkt rtp.Packet
		if sent && pkt.Unmarshal(p) == nil {
			seqs = append(seqs, pkt.SequenceNumber)
		}
	})
	t.Cleanup(func() { SetTap(nil) })

	a.Start(b.LocalAddr())
	waitFor(t, b, a.SSRC(), 5)
	a.Stop()
	raw, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.WriteToUDPAddrPort([]byte("not rtp"), a.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(waitTimeout); a.Stats().Invalid == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stream never read the datagram that is not RTP")
		}
	}
	SetTap(nil)

	mu.Lock()
	defer mu.Unlock()
	sent := a.Stats().Sent
	received := b.Stats().Sources[a.SSRC()].Received
	if got := counts[seen{a.LocalAddr(), b.LocalAddr(), true}]; got != sent {
		t.Errorf("the tap saw %d packets sent, the stream counts %d", got, sent)
	}
	if got := counts[seen{a.LocalAddr(), b.LocalAddr(), false}]; got != received {
		t.Errorf("the tap saw %d packets received, the stream counts %d", got, received)
	}
	rawAddr := raw.LocalAddr().(*net.UDPAddr).AddrPort()
	if got := counts[seen{rawAddr, a.LocalAddr(), false}]; got != 1 {
		t.Errorf("the tap saw %d non-RTP datagrams received, want 1", got)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("sent sequence numbers %v: the tap saw the packets out of order or not all", seqs)
		}
	}
}
