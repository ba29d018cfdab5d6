package loadphone

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/lync"
)

// Defaults of Config.
const (
	DefaultSockets        = 16
	DefaultRequestTimeout = 2 * time.Second
	DefaultExpires        = time.Hour
)

var errClosed = errors.New("load phones closed")

// Config describes a population of load phones.
type Config struct {
	// Domain is the enterprise SIP domain (the phones' AORs are sip:<user>@Domain).
	Domain string
	// IP is the loopback address the sockets bind to; empty means 127.0.0.1.
	IP string
	// Sockets is how many UDP sockets the phones share; 0 means DefaultSockets. A pool
	// limits park requests per source address, so a rehearsal that parks many calls a
	// second wants more of them.
	Sockets int
	// RequestTimeout is how long a phone waits for a server's first answer before it
	// calls it dead; 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Expires is the registration lifetime phones ask for; 0 means DefaultExpires.
	Expires time.Duration
	// Keep is how phones keep themselves registered (register.go).
	Keep KeepPolicy
	// Events receives what happens to the phones; nil methods are skipped.
	Events Events
}

// Events are the population's callbacks. They run on the population's goroutines
// (a socket's reader among them): they must return quickly.
type Events struct {
	// Registered sees every REGISTER transaction's outcome.
	Registered func(RegisterEvent)
	// StateChanged sees a phone's registration state change (registered, mode, offline).
	StateChanged func(ph *Phone, from, to State)
	// Incoming sees a new call ringing a phone (the phone has sent 180 Ringing). It
	// decides what the phone does: Answer, Reject, or let it ring. Nil answers at once.
	Incoming func(*Incoming)
	// Transferred sees the outcome of a REFER the phone followed (parking is a blind
	// transfer): the new call, established or not.
	Transferred func(ph *Phone, from *Leg, to *Leg, out Outcome)
}

// PhoneConfig describes one load phone.
type PhoneConfig struct {
	User string
	// Registrars are tried in order: the home pool, then its backup registrar.
	Registrars []netip.AddrPort
	// TCP registers and places calls over the phone's own TCP connection to its registrar.
	TCP bool
}

// Population is a set of load phones sharing sockets.
type Population struct {
	cfg     Config
	ip      netip.Addr
	socks   []*udpSocket
	sink    *sink
	phones  map[string]*Phone // read-only once New returns
	list    []*Phone
	txs     sync.Map // clientTx by txKey
	closing chan struct{}
	closed  atomic.Bool
	inMu    sync.Mutex
	inbound []*tcpConn // connections pools opened to the shared sockets
	wg      sync.WaitGroup
	stats   counters
}

// counters are the population's own wire statistics.
type counters struct {
	sent, received, retransmissions, stray, unparsable, tcpConnects atomic.Uint64
}

// Stats is a snapshot of what the population sent and received.
type Stats struct {
	Sent, Received, Retransmissions, Stray, Unparsable, TCPConnects uint64
	// SinkPackets counts RTP packets that reached the shared sink (music on hold, mostly).
	SinkPackets uint64
}

// New opens the shared sockets and creates the phones; nothing is sent until a phone is
// told to register.
func New(cfg Config, phones []PhoneConfig) (*Population, error) {
	if cfg.Domain == "" {
		return nil, errors.New("load phones: no domain")
	}
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if cfg.Sockets <= 0 {
		cfg.Sockets = DefaultSockets
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Expires <= 0 {
		cfg.Expires = DefaultExpires
	}
	cfg.Keep = cfg.Keep.withDefaults()
	ip, err := netip.ParseAddr(cfg.IP)
	if err != nil {
		return nil, fmt.Errorf("load phones: ip %q: %w", cfg.IP, err)
	}
	pop := &Population{cfg: cfg, ip: ip, phones: make(map[string]*Phone, len(phones)), closing: make(chan struct{})}
	for range cfg.Sockets {
		s, err := listenUDP(pop, ip)
		if err != nil {
			pop.Close()
			return nil, err
		}
		pop.socks = append(pop.socks, s)
	}
	if pop.sink, err = listenSink(ip); err != nil {
		pop.Close()
		return nil, err
	}
	for i, pc := range phones {
		if _, dup := pop.phones[pc.User]; dup || pc.User == "" {
			pop.Close()
			return nil, fmt.Errorf("load phones: user %q is empty or given twice", pc.User)
		}
		ph := newPhone(pop, pc, pop.socks[i%len(pop.socks)])
		pop.phones[pc.User] = ph
		pop.list = append(pop.list, ph)
	}
	for _, s := range pop.socks {
		pop.wg.Add(2)
		go s.readLoop()
		go s.acceptLoop()
	}
	pop.wg.Add(1)
	go pop.sink.drain(&pop.wg)
	return pop, nil
}

func (pop *Population) accepted(c *tcpConn) {
	pop.inMu.Lock()
	defer pop.inMu.Unlock()
	if pop.closed.Load() {
		c.close()
		return
	}
	pop.inbound = append(pop.inbound, c)
}

// Phone returns a phone by user name.
func (pop *Population) Phone(user string) (*Phone, bool) {
	ph, ok := pop.phones[user]
	return ph, ok
}

// Phones returns every phone, in the order given to New.
func (pop *Population) Phones() []*Phone { return pop.list }

// Stats returns the wire counters.
func (pop *Population) Stats() Stats {
	s := &pop.stats
	st := Stats{Sent: s.sent.Load(), Received: s.received.Load(), Retransmissions: s.retransmissions.Load(),
		Stray: s.stray.Load(), Unparsable: s.unparsable.Load(), TCPConnects: s.tcpConnects.Load()}
	if pop.sink != nil {
		st.SinkPackets = pop.sink.got.Load()
	}
	return st
}

// Close stops every phone and closes the sockets, like pulling every cable: nothing is
// unregistered or hung up.
func (pop *Population) Close() {
	if !pop.closed.CompareAndSwap(false, true) {
		return
	}
	close(pop.closing)
	for _, ph := range pop.list {
		ph.stop()
	}
	for _, s := range pop.socks {
		s.conn.Close()
		s.tcp.Close()
	}
	pop.inMu.Lock()
	for _, c := range pop.inbound {
		c.close()
	}
	pop.inMu.Unlock()
	if pop.sink != nil {
		pop.sink.conn.Close()
	}
	pop.wg.Wait()
}

// sinkOffer is the SDP of a call without measured media: PCMU/PCMA at the sink.
func (pop *Population) sinkOffer() []byte {
	return sdpOffer(pop.sink.addr)
}

// sdpOffer is a minimal SDP offer for G.711 at addr (RFC 4566), kept short so an INVITE
// stays well under the 1300 bytes that would send it over TCP (RFC 3261 18.1.1).
func sdpOffer(addr netip.AddrPort) []byte {
	ip := addr.Addr().String()
	id := strconv.FormatInt(time.Now().UnixNano()&0x7fffffffffff, 10)
	var b strings.Builder
	b.WriteString("v=0\r\no=- " + id + " " + id + " IN IP4 " + ip + "\r\ns=pickupsim-load\r\nc=IN IP4 " + ip + "\r\nt=0 0\r\n")
	b.WriteString("m=audio " + strconv.Itoa(int(addr.Port())) + " RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\na=sendrecv\r\n")
	return []byte(b.String())
}

// Outcome is what a phone learnt from a final answer, or from none: the answer as
// sip/lync reads it (code, reason, Warning, ms-diagnostics, Retry-After), and more.
type Outcome struct {
	lync.Outcome
	// ParkOrbit is the orbit the Call Park application named (X-Park-Orbit).
	ParkOrbit string
	// NoAnswer is set when no server answered in time (Code is then 408), or could not be
	// reached at all (Code 503).
	NoAnswer bool
}

// OK reports a 2xx.
func (o Outcome) OK() bool { return o.Code >= 200 && o.Code < 300 }

// local is an outcome the phone decided itself, with no final answer to read.
func local(code int, reason, warning string, noAnswer bool) Outcome {
	return Outcome{Outcome: lync.Outcome{Code: code, Reason: reason, Warning: warning}, NoAnswer: noAnswer}
}

func noAnswer(to netip.AddrPort, err error) Outcome {
	if errors.Is(err, errTimeout) {
		return local(408, "Request Timeout", "no answer from "+to.String(), true)
	}
	return local(503, "Service Unavailable", fmt.Sprintf("cannot reach %s: %v", to, err), true)
}

// outcomeOf reads a final answer: code, Warning text, ms-diagnostics code, Retry-After,
// and the orbit of a park.
func outcomeOf(res *gosip.Response) Outcome {
	o := Outcome{Outcome: lync.OutcomeOf(res)}
	if h := res.GetHeader(lync.HeaderParkOrbit); h != nil {
		o.ParkOrbit = strings.TrimSpace(h.Value())
	}
	return o
}
