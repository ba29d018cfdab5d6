package wiretap

import (
	"net/netip"
	"sync"
	"time"
)

// window is how long a datagram seen at one end waits to be seen at the other. Both
// sightings of one datagram on loopback are microseconds apart; one that is never seen
// again (lost, or sent to a peer outside the process) is forgotten after it.
const window = 2 * time.Second

// state is one sink's: what it was handed, so that each packet reaches it once.
type state struct {
	sink     Sink
	mu       sync.Mutex
	released bool
	// pending counts the datagrams seen at one end only, by the end that saw them.
	pending map[datagram]*sighting
	// streams follows each TCP direction by byte offset.
	streams   map[direction]*offsets
	lastSweep time.Time
}

type datagram struct {
	from, to netip.AddrPort
	media    bool
	data     string
	written  bool
}

type sighting struct {
	n    int
	last time.Time
}

type direction struct{ from, to netip.AddrPort }

// offsets are how many bytes of one TCP direction its writer and its reader reported.
type offsets struct {
	written, read int64
	last          time.Time
}

func newState(s Sink) *state {
	return &state{sink: s, pending: map[datagram]*sighting{}, streams: map[direction]*offsets{}}
}

// deliver hands p to the sink unless its other end handed it already (TCP: the bytes
// not handed yet), and returns the media address a SIP message it handed advertises.
func (st *state) deliver(p Packet) (netip.AddrPort, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.released {
		return netip.AddrPort{}, false
	}
	st.sweep(p.At)
	if p.Transport == "TCP" {
		skip := st.fresh(p)
		if skip == len(p.Data) {
			return netip.AddrPort{}, false
		}
		p.Data = p.Data[skip:]
	} else if !st.first(p) {
		return netip.AddrPort{}, false
	}
	st.sink.Capture(p)
	if p.Media {
		return netip.AddrPort{}, true
	}
	return mediaAddr(p.Data), true
}

// first pairs a datagram's sightings: the first of each pair is delivered.
func (st *state) first(p Packet) bool {
	d := datagram{from: p.From, to: p.To, media: p.Media, data: string(p.Data), written: !p.Written}
	if s := st.pending[d]; s != nil {
		if s.n--; s.n == 0 {
			delete(st.pending, d)
		}
		return false
	}
	d.written = p.Written
	s := st.pending[d]
	if s == nil {
		s = &sighting{}
		st.pending[d] = s
	}
	s.n++
	s.last = p.At
	return true
}

// fresh returns how many leading bytes of a TCP chunk the sink was handed already.
func (st *state) fresh(p Packet) int {
	dir := direction{p.From, p.To}
	o := st.streams[dir]
	if o == nil {
		o = &offsets{}
		st.streams[dir] = o
	}
	o.last = p.At
	seen := max(o.written, o.read)
	start := &o.read
	if p.Written {
		start = &o.written
	}
	from := *start
	*start += int64(len(p.Data))
	return int(min(max(seen-from, 0), int64(len(p.Data))))
}

// sweep forgets, once per window, the datagrams whose other end never showed, and the TCP
// directions idle for a hundred windows.
func (st *state) sweep(now time.Time) {
	if now.Sub(st.lastSweep) < window {
		return
	}
	st.lastSweep = now
	for d, s := range st.pending {
		if now.Sub(s.last) > window {
			delete(st.pending, d)
		}
	}
	for dir, o := range st.streams {
		if now.Sub(o.last) > 100*window {
			delete(st.streams, dir)
		}
	}
}
