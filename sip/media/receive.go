package media

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/pion/rtp"
)

// receiver is the receiving half of a Stream, guarded by Stream.rxMu.
type receiver struct {
	received, invalid int
	sources           map[uint32]*source
	closed            bool // the receive loop has ended
}

// waiter is a WaitReceived call blocked until ssrc reaches n packets, or (any) a
// WaitNext call blocked until a packet arrives from notBefore on.
type waiter struct {
	ssrc      uint32
	any       bool
	notBefore time.Time
	n         int
	wake      chan struct{} // closed when satisfied or when the stream closes
}

// receiveLoop reads packets until the socket is closed.
func (s *Stream) receiveLoop() {
	defer s.wg.Done()
	defer s.endReceive()
	buf := make([]byte, maxPacket)
	var pkt rtp.Packet // reused: Unmarshal then allocates nothing
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue // a transient socket error costs one datagram, not the stream
		}
		now := time.Now()
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		tapped(from, s.local, buf[:n], false)
		if !isRTP(buf[:n]) || pkt.Unmarshal(buf[:n]) != nil {
			s.countInvalid()
			continue
		}
		s.record(&pkt, from, now)
	}
}

// isRTP tells RTP from what else may reach an RTP port: it must be version 2 and
// not one of the RTCP packet types 192-223 (RFC 5761 §4, which also rules those
// payload types out for RTP).
func isRTP(b []byte) bool {
	return len(b) >= 12 && b[0]>>6 == 2 && (b[1] < 192 || b[1] > 223)
}

func (s *Stream) countInvalid() {
	s.rxMu.Lock()
	s.rx.invalid++
	s.rxMu.Unlock()
}

// record accounts for one RTP packet and wakes the waiters it satisfies.
func (s *Stream) record(pkt *rtp.Packet, from netip.AddrPort, now time.Time) {
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	s.rx.received++
	src := s.rx.sources[pkt.SSRC]
	if src == nil {
		src = &source{}
		s.rx.sources[pkt.SSRC] = src
	}
	src.record(pkt.SequenceNumber, pkt.PayloadType, pkt.Payload, now, from)
	if len(s.waiters) == 0 {
		return
	}
	kept := s.waiters[:0]
	for _, w := range s.waiters {
		if w.any && !now.Before(w.notBefore) || !w.any && w.ssrc == pkt.SSRC && src.Received >= w.n {
			close(w.wake)
			continue
		}
		kept = append(kept, w)
	}
	clear(s.waiters[len(kept):])
	s.waiters = kept
}

// endReceive marks the receive side closed and wakes every waiter.
func (s *Stream) endReceive() {
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	s.rx.closed = true
	for _, w := range s.waiters {
		close(w.wake)
	}
	s.waiters = nil
}

// WaitReceived blocks until the stream has received at least n packets in total
// from ssrc (duplicates included), ctx is done, or the stream is closed. It is how
// tests and simulated phones wait for media without sleeping.
func (s *Stream) WaitReceived(ctx context.Context, ssrc uint32, n int) error {
	s.rxMu.Lock()
	got, closed := s.receivedFrom(ssrc), s.rx.closed
	if got >= n {
		s.rxMu.Unlock()
		return nil
	}
	if closed {
		s.rxMu.Unlock()
		return fmt.Errorf("wait for %d rtp packets from ssrc %08x (got %d): %w", n, ssrc, got, net.ErrClosed)
	}
	w := &waiter{ssrc: ssrc, n: n, wake: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.rxMu.Unlock()

	var err error
	select {
	case <-w.wake:
		err = net.ErrClosed // unless the count is reached, checked below
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	s.waiters = deleteWaiter(s.waiters, w)
	if got = s.receivedFrom(ssrc); got >= n {
		return nil
	}
	return fmt.Errorf("wait for %d rtp packets from ssrc %08x (got %d): %w", n, ssrc, got, err)
}

// WaitNext blocks until an RTP packet (from any source) arrives more than quiet after
// the call, ctx is done, or the stream is closed. It answers "is this stream receiving
// now?" without a clock: a live stream answers within quiet plus one packet interval.
// Packets that were already on their way when it was called (in the socket's buffer,
// not yet read) are read sooner than quiet and do not count: a sender that stopped a
// moment ago is silent now.
func (s *Stream) WaitNext(ctx context.Context, quiet time.Duration) error {
	s.rxMu.Lock()
	if s.rx.closed {
		s.rxMu.Unlock()
		return fmt.Errorf("wait for the next rtp packet: %w", net.ErrClosed)
	}
	w := &waiter{any: true, notBefore: time.Now().Add(quiet), wake: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.rxMu.Unlock()

	select {
	case <-w.wake:
	case <-ctx.Done():
	}
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	s.waiters = deleteWaiter(s.waiters, w)
	select {
	case <-w.wake:
		if !s.rx.closed || s.rx.received > 0 && !s.lastArrival().Before(w.notBefore) {
			return nil
		}
		return fmt.Errorf("wait for the next rtp packet: %w", net.ErrClosed)
	default:
		return fmt.Errorf("wait for the next rtp packet: %w", ctx.Err())
	}
}

// lastArrival is when the latest packet arrived, from any source. rxMu must be held.
func (s *Stream) lastArrival() time.Time {
	var last time.Time
	for _, src := range s.rx.sources {
		if src.Last.After(last) {
			last = src.Last
		}
	}
	return last
}

// receivedFrom returns how many packets came from ssrc. rxMu must be held.
func (s *Stream) receivedFrom(ssrc uint32) int {
	if src := s.rx.sources[ssrc]; src != nil {
		return src.Received
	}
	return 0
}

func deleteWaiter(ws []*waiter, w *waiter) []*waiter {
	for i, x := range ws {
		if x == w {
			return slices.Delete(ws, i, i+1)
		}
	}
	return ws
}
