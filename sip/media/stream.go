package media

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
)

// Stream is one RTP endpoint: a UDP socket that sends a G.711 stream (PCMU by
// default, 20 ms packets of 160 bytes) to a remote address and counts what it
// receives, per SSRC.
//
// Receiving starts at Listen and lasts until Close; sending runs between Start and
// Stop. All methods are safe for concurrent use.
type Stream struct {
	conn  *net.UDPConn
	local netip.AddrPort
	ssrc  uint32

	txMu sync.Mutex
	tx   sender

	rxMu    sync.Mutex
	rx      receiver
	waiters []*waiter

	wg        sync.WaitGroup // the receive loop and the running sender
	closeOnce sync.Once
}

// Config sets the identifiers of a Stream. The zero Config picks them at random,
// as RFC 3550 §5.1 asks; a scenario that wants replayable traces sets them from
// its seeded generator.
type Config struct {
	SSRC      uint32 // 0: random
	Sequence  uint16 // first sequence number; 0: random
	Timestamp uint32 // first RTP timestamp; 0: random
}

// Listen binds a UDP socket on ip, port 0 (the system picks it), and starts
// receiving. It is Config{}.Listen.
func Listen(ip string) (*Stream, error) {
	return Config{}.Listen(ip)
}

// Listen binds a UDP socket on ip, port 0, and starts receiving.
func (c Config) Listen(ip string) (*Stream, error) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, fmt.Errorf("listen rtp: %w", err)
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		return nil, fmt.Errorf("listen rtp on %s: %w", addr, err)
	}
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	s := &Stream{
		conn:  conn,
		local: netip.AddrPortFrom(local.Addr().Unmap(), local.Port()),
		ssrc:  nonZero(c.SSRC, rand.Uint32),
		rx:    receiver{sources: make(map[uint32]*source)},
	}
	s.tx = newSender(s.ssrc,
		uint16(nonZero(uint32(c.Sequence), rand.Uint32)),
		nonZero(c.Timestamp, rand.Uint32))
	s.wg.Add(1)
	go s.receiveLoop()
	return s, nil
}

// nonZero returns v, or a value from random when v is 0.
func nonZero(v uint32, random func() uint32) uint32 {
	if v != 0 {
		return v
	}
	return random()
}

// LocalAddr returns the address the stream receives on: what its SDP advertises.
func (s *Stream) LocalAddr() netip.AddrPort { return s.local }

// SSRC returns the synchronisation source of the packets the stream sends.
func (s *Stream) SSRC() uint32 { return s.ssrc }

// Close stops sending and receiving, releases the socket and waits for the
// stream's goroutines to end. Waiters in WaitReceived return net.ErrClosed.
// Calling it again does nothing and returns nil.
func (s *Stream) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.shutdown() })
	return err
}

// shutdown is the first Close: no new sender may start, the running one stops,
// and closing the socket ends the receive loop.
func (s *Stream) shutdown() error {
	s.txMu.Lock()
	s.tx.closed = true
	s.txMu.Unlock()
	s.Stop()
	err := s.conn.Close()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("close rtp %s: %w", s.local, err)
	}
	return nil
}

// Stats returns a snapshot of the counters. The snapshot shares no memory with
// the stream.
func (s *Stream) Stats() Stats {
	s.txMu.Lock()
	st := Stats{Sent: s.tx.sent, SendErrors: s.tx.errors}
	s.txMu.Unlock()
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	st.Received, st.Invalid = s.rx.received, s.rx.invalid
	st.Sources = snapshotSources(s.rx.sources)
	return st
}
