package media

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// These tests send real RTP over UDP on 127.0.0.1; they wait on WaitReceived,
// never on fixed sleeps, except where a pause in media is the point.

const waitTimeout = 5 * time.Second

func listen(t *testing.T) *Stream {
	t.Helper()
	s, err := Listen("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor waits until s has received n packets from ssrc.
func waitFor(t *testing.T, s *Stream, ssrc uint32, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := s.WaitReceived(ctx, ssrc, n); err != nil {
		t.Fatalf("%v: %+v", err, s.Stats())
	}
}

func sourceOf(t *testing.T, s *Stream, ssrc uint32) SourceStats {
	t.Helper()
	src, ok := s.Stats().Sources[ssrc]
	if !ok {
		t.Fatalf("nothing received from ssrc %08x", ssrc)
	}
	return src
}

func TestExchangeBothWays(t *testing.T) {
	t.Parallel()
	a, b := listen(t), listen(t)
	a.Start(b.LocalAddr())
	b.Start(a.LocalAddr())
	const n = 25 // half a second of media
	waitFor(t, a, b.SSRC(), n)
	waitFor(t, b, a.SSRC(), n)
	for _, tc := range []struct {
		name   string
		rx, tx *Stream
	}{{"a from b", a, b}, {"b from a", b, a}} {
		src := sourceOf(t, tc.rx, tc.tx.SSRC())
		if src.Lost != 0 || src.Duplicates != 0 || src.Reordered != 0 {
			t.Errorf("%s: lost/dups/reordered = %d/%d/%d, want 0", tc.name, src.Lost, src.Duplicates, src.Reordered)
		}
		if src.From != tc.tx.LocalAddr() || src.PayloadType != PayloadPCMU || !bytes.Equal(src.LastPayload, Silence(PayloadPCMU)) {
			t.Errorf("%s: from %v pt %d payload % x...", tc.name, src.From, src.PayloadType, src.LastPayload[:4])
		}
		if sent := tc.tx.Stats().Sent; sent < src.Received {
			t.Errorf("%s: received %d of %d sent", tc.name, src.Received, sent)
		}
	}
}

// TestRetargetToThirdStream: a stream retargeted from b to c carries on with the
// next sequence number.
func TestRetargetToThirdStream(t *testing.T) {
	t.Parallel()
	a, b, c := listen(t), listen(t), listen(t)
	a.Start(b.LocalAddr())
	waitFor(t, b, a.SSRC(), 10)
	a.Start(c.LocalAddr())
	waitFor(t, c, a.SSRC(), 10)
	a.Stop()
	fromB, fromC := sourceOf(t, b, a.SSRC()), sourceOf(t, c, a.SSRC())
	if fromB.HighestSeq+1 != fromC.FirstSeq {
		t.Errorf("b's last seq %d, c's first %d: want consecutive", fromB.HighestSeq, fromC.FirstSeq)
	}
	if fromB.Lost != 0 || fromC.Lost != 0 {
		t.Errorf("lost b/c = %d/%d, want 0", fromB.Lost, fromC.Lost)
	}
	if got, sent := fromB.Received+fromC.Received, a.Stats().Sent; got != sent {
		t.Errorf("b+c received %d, a sent %d", got, sent)
	}
}

// TestRetargetSameReceiverNoGap: moving media to another path (here a relay in
// front of the same receiver) shows no loss at the receiver.
func TestRetargetSameReceiverNoGap(t *testing.T) {
	t.Parallel()
	a, b := listen(t), listen(t)
	r := newRelay(t, b.LocalAddr(), func(int) int { return 1 })
	a.Start(b.LocalAddr())
	waitFor(t, b, a.SSRC(), 10)
	a.Start(r.addr())
	waitFor(t, b, a.SSRC(), 20)
	src := sourceOf(t, b, a.SSRC())
	if src.Lost != 0 || src.From != r.addr() {
		t.Errorf("lost %d from %v, want 0 from the relay %v", src.Lost, src.From, r.addr())
	}
}

func TestStopStartNoSequenceGap(t *testing.T) {
	t.Parallel()
	a, b := listen(t), listen(t)
	a.Start(b.LocalAddr())
	a.Start(b.LocalAddr()) // idempotent
	waitFor(t, b, a.SSRC(), 10)
	a.Stop()
	a.Stop() // idempotent
	sent := a.Stats().Sent
	waitFor(t, b, a.SSRC(), sent)
	const pause = 200 * time.Millisecond
	time.Sleep(pause) // the pause in media is what is under test
	if got := sourceOf(t, b, a.SSRC()).Received; got != sent {
		t.Fatalf("received %d after Stop, %d sent", got, sent)
	}
	a.Start(b.LocalAddr())
	waitFor(t, b, a.SSRC(), sent+10)
	src := sourceOf(t, b, a.SSRC())
	if src.Lost != 0 {
		t.Errorf("lost %d across Stop/Start, want 0", src.Lost)
	}
	if src.MaxGap < pause {
		t.Errorf("MaxGap %v, want at least the %v pause", src.MaxGap, pause)
	}
}

func TestLossThroughRelay(t *testing.T) {
	t.Parallel()
	a, b := listen(t), listen(t)
	r := newRelay(t, b.LocalAddr(), dropEvery(10))
	a.Start(r.addr())
	waitFor(t, b, a.SSRC(), 30)
	a.Stop()
	sent := a.Stats().Sent
	waitFor(t, b, a.SSRC(), sent-sent/10)
	src := sourceOf(t, b, a.SSRC())
	// A drop is seen as lost once a later packet shows the gap: if the very
	// last packet was dropped nothing reveals it.
	if want := (sent - 1) / 10; src.Lost != want {
		t.Errorf("lost %d of %d sent, want %d", src.Lost, sent, want)
	}
	if src.Duplicates != 0 || src.Reordered != 0 {
		t.Errorf("dups/reordered = %d/%d, want 0", src.Duplicates, src.Reordered)
	}
}

func TestDuplicatesThroughRelay(t *testing.T) {
	t.Parallel()
	a, b := listen(t), listen(t)
	r := newRelay(t, b.LocalAddr(), duplicateEvery(5))
	a.Start(r.addr())
	waitFor(t, b, a.SSRC(), 20)
	a.Stop()
	sent := a.Stats().Sent
	waitFor(t, b, a.SSRC(), sent+sent/5)
	src := sourceOf(t, b, a.SSRC())
	if src.Duplicates != sent/5 || src.Lost != 0 || src.Reordered != 0 {
		t.Errorf("dups/lost/reordered = %d/%d/%d of %d sent, want %d/0/0",
			src.Duplicates, src.Lost, src.Reordered, sent, sent/5)
	}
}

// TestReceiveCraftedPackets sends hand-made datagrams: reordered RTP, RTCP and
// garbage.
func TestReceiveCraftedPackets(t *testing.T) {
	t.Parallel()
	b := listen(t)
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const ssrc = 0x5eed
	for _, seq := range []uint16{1, 2, 4, 3, 5} {
		pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, SSRC: ssrc}, Payload: Silence(0)}).Marshal()
		conn.WriteToUDPAddrPort(pkt, b.LocalAddr())
	}
	rtcpBye := []byte{0x81, 203, 0, 1, 0, 0, 0x5e, 0xed}
	conn.WriteToUDPAddrPort(rtcpBye, b.LocalAddr())
	conn.WriteToUDPAddrPort([]byte("not rtp at all"), b.LocalAddr())
	pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 6, SSRC: ssrc}}).Marshal()
	conn.WriteToUDPAddrPort(pkt, b.LocalAddr()) // sent last: once it is counted, all are
	waitFor(t, b, ssrc, 6)
	st := b.Stats()
	src := st.Sources[ssrc]
	if src.Reordered != 1 || src.Lost != 0 || st.Invalid != 2 || st.Received != 6 || len(st.Sources) != 1 {
		t.Errorf("reordered/lost = %d/%d, invalid %d, received %d from %d sources; want 1/0, 2, 6, 1",
			src.Reordered, src.Lost, st.Invalid, st.Received, len(st.Sources))
	}
}

func TestSetPayload(t *testing.T) {
	t.Parallel()
	a, b := listen(t), listen(t)
	tone := Tone(PayloadPCMU, 400, Ptime) // 400 Hz: 8 periods per packet
	a.SetPayload(tone)
	want := slices.Clone(tone)
	tone[0] ^= 0xFF // the stream must have kept its own copy
	tone = want
	a.Start(b.LocalAddr())
	waitFor(t, b, a.SSRC(), 3)
	if got := sourceOf(t, b, a.SSRC()).LastPayload; !bytes.Equal(got, tone) {
		t.Fatalf("payload % x..., want the tone % x...", got[:8], tone[:8])
	}
	if err := a.SetPayloadType(PayloadPCMA); err != nil {
		t.Fatal(err)
	}
	a.SetPayload(nil) // back to silence, of the new law
	n := sourceOf(t, b, a.SSRC()).Received
	waitFor(t, b, a.SSRC(), n+3)
	src := sourceOf(t, b, a.SSRC())
	if src.PayloadType != PayloadPCMA || !bytes.Equal(src.LastPayload, Silence(PayloadPCMA)) {
		t.Errorf("pt %d payload % x..., want PCMA silence", src.PayloadType, src.LastPayload[:4])
	}
	if err := a.SetPayloadType(18); err == nil {
		t.Error("SetPayloadType(18) accepted G.729")
	}
}

func TestStartUnreachableStops(t *testing.T) {
	t.Parallel()
	a, b := listen(t), listen(t)
	a.Start(b.LocalAddr())
	waitFor(t, b, a.SSRC(), 2)
	held := netip.AddrPortFrom(netip.IPv4Unspecified(), b.LocalAddr().Port()) // c=0.0.0.0 hold
	a.Start(held)
	sent := a.Stats().Sent
	time.Sleep(3 * Ptime)
	if got := a.Stats().Sent; got != sent {
		t.Errorf("kept sending after Start(%v): %d -> %d", held, sent, got)
	}
}

func TestWaitReceivedErrors(t *testing.T) {
	t.Parallel()
	a := listen(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := a.WaitReceived(ctx, 1234, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitReceived = %v, want deadline exceeded", err)
	}
	if err := a.WaitReceived(context.Background(), 1234, 0); err != nil {
		t.Errorf("WaitReceived(n=0) = %v", err)
	}
	done := make(chan error)
	go func() { done <- a.WaitReceived(context.Background(), 1234, 1) }()
	time.Sleep(10 * time.Millisecond) // let it block; Close must wake it either way
	a.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("blocked WaitReceived after Close = %v, want net.ErrClosed", err)
	}
	if err := a.WaitReceived(context.Background(), 1234, 1); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WaitReceived after Close = %v, want net.ErrClosed", err)
	}
}

func TestListenBadIP(t *testing.T) {
	t.Parallel()
	if _, err := Listen("not an ip"); err == nil {
		t.Error("Listen accepted a bad address")
	}
}

// TestCloseEndsGoroutines counts goroutines around the life of three streams.
// It is not parallel: other tests' goroutines would blur the count.
func TestCloseEndsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	a, b, c := listen(t), listen(t), listen(t)
	a.Start(b.LocalAddr())
	b.Start(a.LocalAddr())
	c.Start(a.LocalAddr())
	waitFor(t, a, b.SSRC(), 3)
	waitFor(t, a, c.SSRC(), 3)
	c.Stop() // one stream closes while stopped, the others while sending
	for _, s := range []*Stream{a, b, c} {
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
	a.Start(b.LocalAddr()) // no effect after Close
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// TestSenderTimeline checks the packets a sender builds: consecutive sequence
// numbers, 160 samples per packet, and after a pause a marker bit and a
// timestamp that has moved on by the pause.
func TestSenderTimeline(t *testing.T) {
	tx := newSender(0xabc, 65535, 1000)
	t0 := time.Unix(0, 0)
	buf := make([]byte, maxPacket)
	var got []rtp.Header
	build := func(at time.Time) {
		n, err := tx.next(buf, at)
		if err != nil {
			t.Fatal(err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil || len(p.Payload) != SamplesPerPacket {
			t.Fatalf("packet %d: %v, %d bytes of payload", len(got), err, len(p.Payload))
		}
		got = append(got, p.Header)
	}
	tx.resume(t0)
	build(t0)
	build(t0.Add(Ptime))
	tx.resume(t0.Add(Ptime + 200*time.Millisecond)) // Stop, 200 ms, Start
	build(t0.Add(Ptime + 200*time.Millisecond))
	build(t0.Add(2*Ptime + 200*time.Millisecond))
	want := []struct {
		seq    uint16
		ts     uint32
		marker bool
	}{{65535, 1000, true}, {0, 1160, false}, {1, 1160 + 1600, true}, {2, 1160 + 1760, false}}
	for i, w := range want {
		h := got[i]
		if h.SequenceNumber != w.seq || h.Timestamp != w.ts || h.Marker != w.marker || h.SSRC != 0xabc || h.PayloadType != 0 {
			t.Errorf("packet %d: seq %d ts %d marker %v ssrc %x pt %d, want seq %d ts %d marker %v",
				i, h.SequenceNumber, h.Timestamp, h.Marker, h.SSRC, h.PayloadType, w.seq, w.ts, w.marker)
		}
	}
}

// TestWaitNextAsksWhetherMediaArrivesNow: a packet received before the call does not
// count, so a stream whose sender stopped a moment ago is silent now.
func TestWaitNextAsksWhetherMediaArrivesNow(t *testing.T) {
	t.Parallel()
	a, b := listen(t), listen(t)
	a.Start(b.LocalAddr())
	waitFor(t, b, a.SSRC(), 3)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.WaitNext(ctx, Ptime/2); err != nil {
		t.Fatalf("WaitNext on a live stream = %v", err)
	}
	a.Stop()
	short, cancel2 := context.WithTimeout(context.Background(), 10*Ptime)
	defer cancel2()
	if err := b.WaitNext(short, Ptime/2); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitNext after the sender stopped = %v, want deadline exceeded", err)
	}
	b.Close()
	if err := b.WaitNext(context.Background(), 0); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WaitNext after Close = %v, want net.ErrClosed", err)
	}
}
