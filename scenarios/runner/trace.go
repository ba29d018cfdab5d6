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

// SIPTraceRead ignores reads: every message is recorded once, when written.
func (h *hub) SIPTraceRead(string, string, string, []byte) {}

// SIPTraceWrite records a message for the scenario that owns laddr or raddr.
func (h *hub) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	h.mu.RLock()
	rec := h.owner[laddr]
	if rec == nil {
		rec = h.owner[raddr]
	}
	h.mu.RUnlock()
	if rec != nil {
		rec.add(transport, laddr, raddr, msg)
	}
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
}

func (r *recorder) setStep(i int) {
	r.mu.Lock()
	r.step = i
	r.mu.Unlock()
}

func (r *recorder) add(transport, laddr, raddr string, msg []byte) {
	summary, _, _ := strings.Cut(string(msg), "\r\n")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, Message{
		At: time.Since(r.start), Step: r.step, Transport: transport,
		From: r.nameOf(laddr), To: r.nameOf(raddr), Summary: summary, Raw: string(msg),
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
