package media

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/pion/rtp"
)

// maxPacket is the size of the buffers packets are built and read in: one
// Ethernet MTU, far above a 172-byte G.711 packet.
const maxPacket = 1500

// sender is the sending half of a Stream, guarded by Stream.txMu.
type sender struct {
	ssrc   uint32
	remote netip.AddrPort
	pt     uint8
	seq    uint16    // of the next packet
	ts     uint32    // of the next packet
	marker bool      // the next packet starts a talkspurt (RFC 3551 §4.1)
	sound  []byte    // the loop packets are cut from
	custom bool      // sound was set by SetPayload, not the silence of pt
	off    int       // where the next packet starts in sound
	last   time.Time // when the last packet was built

	sent, errors int

	quit   chan struct{} // non-nil while a sendLoop runs; Stop closes it
	done   chan struct{} // closed when the latest sendLoop has returned
	closed bool          // Close was called: no sendLoop may start
}

func newSender(ssrc uint32, seq uint16, ts uint32) sender {
	return sender{ssrc: ssrc, pt: PayloadPCMU, seq: seq, ts: ts, sound: Silence(PayloadPCMU)}
}

// Start starts sending to remote every 20 ms, or, when the stream is already
// sending, retargets it: the next packet goes to remote. Sequence numbers run on
// across retargets and Stop/Start, as with a real phone, so a receiver sees no gap
// when media is merely moved. The first packet after a Stop carries the marker bit
// and a timestamp advanced by the pause (RFC 3550 §5.1: the timestamp follows the
// sampling clock, the sequence number counts packets).
//
// A remote that cannot receive (invalid, port 0 as in a rejected m-line, or an
// unspecified address as in an old-style c=0.0.0.0 hold) stops sending instead.
// Start after Close does nothing.
func (s *Stream) Start(remote netip.AddrPort) {
	if !remote.IsValid() || remote.Port() == 0 || remote.Addr().IsUnspecified() {
		s.Stop()
		return
	}
	s.txMu.Lock()
	defer s.txMu.Unlock()
	if s.tx.closed {
		return
	}
	s.tx.remote = remote
	if s.tx.quit != nil {
		return // already sending: retargeted
	}
	s.tx.resume(time.Now())
	quit, done := make(chan struct{}), make(chan struct{})
	s.tx.quit, s.tx.done = quit, done
	s.wg.Add(1)
	go s.sendLoop(quit, done)
}

// Stop stops sending and returns once no more packets will leave. The stream
// keeps receiving.
func (s *Stream) Stop() {
	s.txMu.Lock()
	quit, done := s.tx.quit, s.tx.done
	s.tx.quit = nil // done stays, so that a concurrent Stop waits too
	s.txMu.Unlock()
	if quit != nil {
		close(quit)
	}
	if done != nil {
		<-done
	}
}

// SetPayload makes the stream send another sound, for instance a [Tone] as music
// on hold. p is copied and used as a loop: each packet carries its next 160 bytes.
// p must be encoded for the stream's payload type. An empty p goes back to silence.
func (s *Stream) SetPayload(p []byte) {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	s.tx.custom = len(p) > 0
	s.tx.sound = append([]byte(nil), p...)
	if !s.tx.custom {
		s.tx.sound = Silence(s.tx.pt)
	}
	s.tx.off = 0
}

// SetPayloadType switches the payload type of the packets sent: PayloadPCMU
// (the default) or PayloadPCMA, whichever the SDP negotiation chose. A stream
// sending silence switches to the silence of the new law; a sound set with
// SetPayload is kept as it is.
func (s *Stream) SetPayloadType(pt uint8) error {
	if pt != PayloadPCMU && pt != PayloadPCMA {
		return fmt.Errorf("set payload type %d: only 0 (PCMU) and 8 (PCMA) are sent", pt)
	}
	s.txMu.Lock()
	defer s.txMu.Unlock()
	s.tx.pt = pt
	if !s.tx.custom {
		s.tx.sound, s.tx.off = Silence(pt), 0
	}
	return nil
}

// sendLoop sends a packet now and then on every tick until quit is closed. Media
// is real time: the ticker runs on the wall clock, not on the scenario clock.
func (s *Stream) sendLoop(quit, done chan struct{}) {
	defer s.wg.Done()
	defer close(done)
	ticker := time.NewTicker(Ptime)
	defer ticker.Stop()
	buf := make([]byte, maxPacket)
	for {
		s.sendOne(quit, buf)
		select {
		case <-quit:
			return
		case <-ticker.C:
		}
	}
}

// sendOne builds and writes one packet, unless the loop that owns quit has been
// stopped meanwhile.
func (s *Stream) sendOne(quit chan struct{}, buf []byte) {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	if s.tx.quit != quit {
		return
	}
	n, err := s.tx.next(buf, time.Now())
	if err == nil {
		_, err = s.conn.WriteToUDPAddrPort(buf[:n], s.tx.remote)
	}
	if err != nil {
		s.tx.errors++ // the sequence number is spent: the receiver sees a loss
		return
	}
	s.tx.sent++
	tapped(s.local, s.tx.remote, buf[:n], true)
}

// resume prepares the first packet after a (re)start at now: a marker bit, and a
// timestamp that skips the samples of the pause.
func (tx *sender) resume(now time.Time) {
	tx.marker = true
	if tx.last.IsZero() {
		return
	}
	if missed := int64(now.Sub(tx.last)/Ptime) - 1; missed > 0 {
		tx.ts += uint32(missed * int64(SamplesPerPacket))
	}
}

// next writes the next packet into buf, built at now, and advances the sequence
// number, the timestamp and the position in the sound. It returns the length.
func (tx *sender) next(buf []byte, now time.Time) (int, error) {
	h := rtp.Header{
		Version:        2,
		Marker:         tx.marker,
		PayloadType:    tx.pt,
		SequenceNumber: tx.seq,
		Timestamp:      tx.ts,
		SSRC:           tx.ssrc,
	}
	n, err := h.MarshalTo(buf)
	if err != nil {
		return 0, fmt.Errorf("marshal rtp header: %w", err)
	}
	for p := buf[n : n+SamplesPerPacket]; len(p) > 0; {
		c := copy(p, tx.sound[tx.off:])
		p, tx.off = p[c:], (tx.off+c)%len(tx.sound)
	}
	tx.seq++
	tx.ts += uint32(SamplesPerPacket)
	tx.marker, tx.last = false, now
	return n + SamplesPerPacket, nil
}
