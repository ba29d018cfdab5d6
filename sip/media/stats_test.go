package media

import (
	"net/netip"
	"testing"
	"time"
)

// TestSourceSequence replays sequence numbers through the per-SSRC accounting,
// one packet every 20 ms.
func TestSourceSequence(t *testing.T) {
	tests := []struct {
		name                  string
		seqs                  []uint16
		lost, dups, reordered int
		firstSeq, highestSeq  uint16
	}{
		{name: "in order", seqs: []uint16{1, 2, 3, 4}, firstSeq: 1, highestSeq: 4},
		{name: "gap of one", seqs: []uint16{1, 2, 4, 5}, lost: 1, firstSeq: 1, highestSeq: 5},
		{name: "gap of three", seqs: []uint16{10, 14}, lost: 3, firstSeq: 10, highestSeq: 14},
		{name: "wrap around", seqs: []uint16{65534, 65535, 0, 1}, firstSeq: 65534, highestSeq: 1},
		{name: "gap across wrap", seqs: []uint16{65535, 2}, lost: 2, firstSeq: 65535, highestSeq: 2},
		{name: "duplicate of last", seqs: []uint16{1, 2, 2, 3}, dups: 1, firstSeq: 1, highestSeq: 3},
		{name: "duplicate of older", seqs: []uint16{1, 2, 3, 2}, dups: 1, firstSeq: 1, highestSeq: 3},
		{name: "swapped pair", seqs: []uint16{1, 3, 2, 4}, reordered: 1, firstSeq: 1, highestSeq: 4},
		{name: "late then duplicated", seqs: []uint16{1, 3, 2, 2}, reordered: 1, dups: 1, firstSeq: 1, highestSeq: 3},
		{name: "older than the first", seqs: []uint16{5, 4, 6}, reordered: 1, firstSeq: 5, highestSeq: 6},
		{name: "beyond window", seqs: []uint16{1, 200, 100}, lost: 198, dups: 1, firstSeq: 1, highestSeq: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s source
			t0 := time.Unix(0, 0)
			for i, seq := range tt.seqs {
				s.record(seq, PayloadPCMU, []byte{byte(i)}, t0.Add(time.Duration(i)*Ptime), netip.AddrPort{})
			}
			got := s.SourceStats
			if got.Received != len(tt.seqs) || got.Lost != tt.lost || got.Duplicates != tt.dups || got.Reordered != tt.reordered {
				t.Errorf("received/lost/dups/reordered = %d/%d/%d/%d, want %d/%d/%d/%d",
					got.Received, got.Lost, got.Duplicates, got.Reordered, len(tt.seqs), tt.lost, tt.dups, tt.reordered)
			}
			if got.FirstSeq != tt.firstSeq || got.HighestSeq != tt.highestSeq {
				t.Errorf("first/highest seq = %d/%d, want %d/%d", got.FirstSeq, got.HighestSeq, tt.firstSeq, tt.highestSeq)
			}
		})
	}
}

// TestSourceLongStream checks that accounting holds past the point where the
// sequence numbers have wrapped more than once (about 22 minutes of a call).
func TestSourceLongStream(t *testing.T) {
	var s source
	t0 := time.Unix(0, 0)
	seq := uint16(40000)
	for i := range 150000 {
		if i == 140000 { // one packet late by two places
			s.record(seq+1, 0, nil, t0, netip.AddrPort{})
			s.record(seq, 0, nil, t0, netip.AddrPort{})
			seq += 2
			continue
		}
		s.record(seq, 0, nil, t0, netip.AddrPort{})
		seq++
	}
	if s.Lost != 0 || s.Reordered != 1 || s.Duplicates != 0 {
		t.Fatalf("lost/reordered/dups = %d/%d/%d, want 0/1/0", s.Lost, s.Reordered, s.Duplicates)
	}
}

func TestSourceTimes(t *testing.T) {
	var s source
	t0 := time.Unix(100, 0)
	from := netip.MustParseAddrPort("127.0.0.1:4000")
	arrivals := []time.Duration{0, 20, 40, 300, 320} // ms: a 260 ms pause
	for i, ms := range arrivals {
		s.record(uint16(i), PayloadPCMA, []byte{0xD5, byte(i)}, t0.Add(ms*time.Millisecond), from)
	}
	if s.MaxGap != 260*time.Millisecond {
		t.Errorf("MaxGap = %v, want 260ms", s.MaxGap)
	}
	if !s.First.Equal(t0) || !s.Last.Equal(t0.Add(320*time.Millisecond)) {
		t.Errorf("First/Last = %v/%v", s.First, s.Last)
	}
	snap := s.snapshot()
	if snap.From != from || snap.PayloadType != PayloadPCMA || string(snap.LastPayload) != "\xD5\x04" {
		t.Errorf("snapshot = %+v", snap)
	}
	s.LastPayload[0] = 0 // the snapshot must not share memory with the live state
	if snap.LastPayload[0] != 0xD5 {
		t.Error("snapshot shares LastPayload with the source")
	}
}

func TestPlausibleLoss(t *testing.T) {
	for _, tc := range []struct {
		n    int
		p    float64
		want int
	}{
		{250, 0, 0},     // a lossless network explains no loss
		{0, 0.05, 0},    // nothing sent
		{250, 0.05, 34}, // mean 12.5, sd 3.45: 12.5+20.7 rounded up
		{100, 0.10, 28}, // mean 10, sd 3: 10+18
	} {
		if got := PlausibleLoss(tc.n, tc.p); got != tc.want {
			t.Errorf("PlausibleLoss(%d, %g) = %d, want %d", tc.n, tc.p, got, tc.want)
		}
	}
}
