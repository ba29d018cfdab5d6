package media

import (
	"math"
	"net/netip"
	"time"
)

// Stats is a snapshot of what a Stream has sent and received.
type Stats struct {
	Sent       int // RTP packets written to the socket
	SendErrors int // writes that failed
	Received   int // RTP packets received, all SSRCs, duplicates included
	Invalid    int // datagrams that were not RTP (RTCP, garbage): not in Sources
	// Sources holds the receive statistics per SSRC.
	Sources map[uint32]SourceStats
}

// SourceStats is what a Stream received from one SSRC.
//
// Lost counts the sequence numbers skipped: a packet whose sequence number is
// ahead of the highest seen by d (as an int16) adds d-1. A late packet that fills
// such a gap is counted in Reordered and taken off Lost again; a packet seen
// before is counted in Duplicates. Received includes duplicates.
type SourceStats struct {
	Received, Lost, Duplicates, Reordered int
	First, Last                           time.Time      // arrival times
	MaxGap                                time.Duration  // largest inter-arrival time (a pause in media)
	From                                  netip.AddrPort // source address of the last packet
	FirstSeq, HighestSeq                  uint16         // sequence numbers: first received, highest
	PayloadType                           uint8          // of the last packet
	LastPayload                           []byte         // of the last packet (what is heard now)
}

// reorderWindow is how far back (in sequence numbers) a late packet can still be
// told apart as reordered or duplicate; one bit per sequence number.
const reorderWindow = 64

// source is the receive accounting for one SSRC. It does no I/O and reads no
// clock: the receive loop passes the arrival time in, so tests can replay
// sequences of packets exactly.
type source struct {
	SourceStats
	window uint64 // bit i set: HighestSeq-i was received
	span   int    // HighestSeq-FirstSeq, unwrapped
}

// record accounts for one packet with sequence number seq arriving at now from from.
func (s *source) record(seq uint16, pt uint8, payload []byte, now time.Time, from netip.AddrPort) {
	s.Received++
	s.From, s.PayloadType = from, pt
	s.LastPayload = append(s.LastPayload[:0], payload...)
	if s.Received == 1 {
		s.First, s.Last = now, now
		s.FirstSeq, s.HighestSeq, s.window = seq, seq, 1
		return
	}
	s.MaxGap = max(s.MaxGap, now.Sub(s.Last))
	s.Last = now
	s.sequence(seq)
}

// sequence classifies seq against the highest sequence number seen so far, with
// the wrap-around arithmetic of RFC 3550 appendix A.1 (int16 difference).
func (s *source) sequence(seq uint16) {
	d := int16(seq - s.HighestSeq)
	switch {
	case d > 0: // in order, maybe after a gap
		s.Lost += int(d) - 1
		if d >= reorderWindow {
			s.window = 0
		} else {
			s.window <<= uint(d)
		}
		s.window |= 1
		s.HighestSeq = seq
		s.span += int(d)
	case -int(d) > s.span: // older than the first packet: never counted lost
		s.Reordered++
	case d > -reorderWindow:
		bit := uint64(1) << uint(-d)
		if s.window&bit != 0 {
			s.Duplicates++
			return
		}
		s.window |= bit
		s.Reordered++
		s.Lost--
	default: // too old to tell a late packet from a replay; RFC 3550 A.1 drops it too
		s.Duplicates++
	}
}

// snapshot returns a copy that shares no memory with s.
func (s *source) snapshot() SourceStats {
	c := s.SourceStats
	c.LastPayload = append([]byte(nil), s.LastPayload...)
	return c
}

// snapshotSources copies a source table for Stats.
func snapshotSources(m map[uint32]*source) map[uint32]SourceStats {
	out := make(map[uint32]SourceStats, len(m))
	for ssrc, s := range m {
		out[ssrc] = s.snapshot()
	}
	return out
}

// PlausibleLoss is the most packets, of n sent, that a network dropping each one at
// random with probability p plausibly loses: the binomial mean plus six standard
// deviations (exceeded about once in a billion), rounded up. It is zero when p is: on a
// lossless network any lost packet is a fault.
func PlausibleLoss(n int, p float64) int {
	if p <= 0 || n <= 0 {
		return 0
	}
	mean := float64(n) * p
	return int(math.Ceil(mean + 6*math.Sqrt(mean*(1-p))))
}
