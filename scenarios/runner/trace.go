package runner

import (
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// hub receives every SIP message the process writes (sipgo's SIPDebugTracer is process
// wide) and hands each to the recorder of the scenario that owns the sending or receiving
// address. Scenarios bind distinct ports, so parallel replays never mix their messages.
type hub struct {
	mu    sync.RWMutex
	owner map[string]*recorder // "ip:port" -> recorder
}

var (
	theHub     = &hub{owner: map[string]*recorder{}}
	installHub sync.Once
)

// enableTracing installs the hub once per process, before any network starts: sipgo
// reads SIPDebug without a lock, so it must not change while UAs run.
func enableTracing() {
	installHub.Do(func() {
		gosip.SIPDebugTracer(theHub)
		gosip.SIPDebug = true
	})
}

// SIPTraceRead records a message when its receiver reads it, if that comes before its
// sender's write is traced (sipgo traces a write after the socket write, so a quick
// answer can be read before its request's write is traced).
func (h *hub) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	if rec := h.recorderOf(laddr, raddr); rec != nil {
		rec.add(transport, raddr, laddr, msg, false)
	}
}

// SIPTraceWrite records a message for the scenario that owns laddr or raddr, unless its
// read was recorded first.
func (h *hub) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	if rec := h.recorderOf(laddr, raddr); rec != nil {
		rec.add(transport, laddr, raddr, msg, true)
	}
}

func (h *hub) recorderOf(a, b string) *recorder {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if rec := h.owner[a]; rec != nil {
		return rec
	}
	return h.owner[b]
}

func (h *hub) register(rec *recorder, addrs ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range addrs {
		h.owner[a] = rec
	}
}

func (h *hub) unregister(rec *recorder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for a, r := range h.owner {
		if r == rec {
			delete(h.owner, a)
		}
	}
}

// recorder collects one scenario's messages.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	names map[string]string // addr -> lane name
	step  int
	msgs  []Message
	// unmatched counts the messages recorded at one end (write or read) whose other end
	// has not been seen yet, so that each message is recorded once, at its first sight.
	unmatched map[traceKey]int
}

// traceKey identifies one message on the wire, as seen by its writer or its reader.
type traceKey struct {
	from, to, msg string
	written       bool
}

// name names the lane of addr (a pool deployed during the replay).
func (r *recorder) name(addr, lane string) {
	r.mu.Lock()
	r.names[addr] = lane
	r.mu.Unlock()
}

func (r *recorder) setStep(i int) {
	r.mu.Lock()
	r.step = i
	r.mu.Unlock()
}

// add records a message from -> to, seen by its writer (written) or its reader, unless
// the other end already recorded it. A retransmission is recorded again: its writes and
// reads pair up one for one.
func (r *recorder) add(transport, from, to string, msg []byte, written bool) {
	if len(strings.Trim(string(msg), "\r\n")) == 0 {
		return // a CRLF keep-alive (a phone asking the network whether a peer is there), not SIP
	}
	raw := string(msg)
	summary, _, _ := strings.Cut(raw, "\r\n")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unmatched == nil {
		r.unmatched = map[traceKey]int{}
	}
	other := traceKey{from, to, raw, !written}
	if r.unmatched[other] > 0 {
		r.unmatched[other]--
		return
	}
	r.unmatched[traceKey{from, to, raw, written}]++
	r.msgs = append(r.msgs, Message{
		At: time.Since(r.start), Step: r.step, Transport: transport,
		From: r.nameOf(from), To: r.nameOf(to), Summary: summary, Raw: raw,
	})
}

func (r *recorder) nameOf(addr string) string {
	if n, ok := r.names[addr]; ok {
		return n
	}
	return addr
}

func (r *recorder) messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.msgs...)
}

// EnableTracing installs the message tracing replays use, now. A process that starts
// networks of its own before it replays (the command's tests start serve) calls it first,
// since SIPDebug must not change while any user agent runs.
func EnableTracing() { enableTracing() }
