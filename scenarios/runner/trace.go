package runner

import (
	"strings"
	"sync"
	"time"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/ids"
	"github.com/pickupsim/pickupsim/sip/wiretap"
)

// theHub is the process's wiretap (sip/wiretap) as the runner uses it: a scenario's
// recorder owns the addresses of its pools and phones, so parallel replays never mix
// their messages (scenarios bind distinct ports), and the RTP addresses their SDP names.
var theHub hubOwner

type hubOwner struct{}

// enableTracing installs the tracer once per process, before any network starts: sipgo
// reads SIPDebug without a lock, so it must not change while UAs run.
func enableTracing() { wiretap.Enable() }

func (hubOwner) register(rec *recorder, addrs ...string) { wiretap.Own(rec, addrs...) }

// unregister takes the recorder's addresses back and ends its capture: nothing it
// records or captures comes later.
func (hubOwner) unregister(rec *recorder) {
	wiretap.Release(rec)
	rec.endCapture()
}

// recorder collects one scenario's messages, each once, at its first sight (the wiretap
// pairs the writer's and the reader's), and writes its capture if the replay keeps one.
type recorder struct {
	start time.Time
	clock *clock.Virtual // the replay's: a message is stamped with its virtual time too
	mu    sync.Mutex
	names map[string]string // addr -> lane name
	// ids is the replay's identifier source: it derives identifiers from the lanes'
	// names, not from the ports the kernel gave them.
	ids  *ids.Source
	step int
	msgs []Message
	// capture is the scenario's pcap file (Options.Pcap), nil without one.
	capture *capture
	// ledger follows what the messages owe, so that a step ends when the network is
	// quiet (settle.go); nil follows nothing.
	ledger *ledger
}

// Capture is the wiretap's: one packet of the scenario, SIP or RTP.
func (r *recorder) Capture(p wiretap.Packet) {
	if r.capture != nil {
		r.capture.write(p)
	}
	if !p.Media {
		r.add(p.Transport, p.From.String(), p.To.String(), p.Data)
	}
}

// name names the lane of addr (a pool deployed during the replay).
func (r *recorder) name(addr, lane string) {
	r.mu.Lock()
	r.names[addr] = lane
	r.mu.Unlock()
	r.ids.Name(addr, lane)
}

func (r *recorder) setStep(i int) {
	r.mu.Lock()
	r.step = i
	r.mu.Unlock()
}

// add records a message from -> to. A retransmission is recorded again.
func (r *recorder) add(transport, from, to string, msg []byte) {
	if len(strings.Trim(string(msg), "\r\n")) == 0 {
		return // a CRLF keep-alive (a phone asking the network whether a peer is there), not SIP
	}
	raw := string(msg)
	summary, _, _ := strings.Cut(raw, "\r\n")
	r.mu.Lock()
	defer r.mu.Unlock()
	m := Message{At: time.Since(r.start), Sim: r.clock.Now().Sub(Epoch), Step: r.step, Transport: transport,
		From: r.nameOf(from), To: r.nameOf(to), Summary: summary, Raw: raw}
	r.msgs = append(r.msgs, m)
	if sm, ok := parseSIP(raw); ok && r.ledger != nil {
		r.ledger.note(m.From, m.To, sm)
	}
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
