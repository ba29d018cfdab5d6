package loadphone

import (
	"net/netip"
	"strconv"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// Phone is one load phone: a user's registration and calls, on a shared socket.
type Phone struct {
	pop       *Population
	user      string
	aor       gosip.Uri
	sock      *udpSocket
	tcp       bool
	regs      []netip.AddrPort
	contact   gosip.Uri
	regCallID string

	mu          sync.Mutex
	regSeq      uint32
	state       State
	prefer      int                         // index of the registrar tried first when not registered
	conns       map[netip.AddrPort]*tcpConn // TCP phones: one connection per registrar
	registering bool
	failures    int // registration rounds in a row that no registrar answered
	timer       *time.Timer
	legs        map[string]*Leg // by Call-ID
	stopped     bool
}

func newPhone(pop *Population, pc PhoneConfig, sock *udpSocket) *Phone {
	contact := gosip.Uri{Scheme: "sip", User: pc.User, Host: sock.addr.Addr().String(), Port: int(sock.addr.Port())}
	if pc.TCP {
		// A pool keeps a dialog on the INVITE's transport: it reaches the phone at the TCP
		// side of its shared socket (load phones themselves send in-dialog requests over UDP).
		contact.UriParams = gosip.NewParams()
		contact.UriParams.Add("transport", "tcp")
	}
	return &Phone{
		pop:       pop,
		user:      pc.User,
		aor:       gosip.Uri{Scheme: "sip", User: pc.User, Host: pop.cfg.Domain},
		sock:      sock,
		tcp:       pc.TCP,
		regs:      pc.Registrars,
		contact:   contact,
		regCallID: "reg-" + pc.User + "-" + strconv.FormatInt(time.Now().UnixNano(), 36),
	}
}

// User returns the phone's user name.
func (ph *Phone) User() string { return ph.user }

// TCP reports whether the phone registers over TCP.
func (ph *Phone) TCP() bool { return ph.tcp }

// State returns the phone's registration as it knows it.
func (ph *Phone) State() State {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return ph.state
}

// Population returns the population the phone belongs to.
func (ph *Phone) Population() *Population { return ph.pop }

func (ph *Phone) stop() {
	ph.mu.Lock()
	ph.stopped = true
	if ph.timer != nil {
		ph.timer.Stop()
	}
	conns := ph.conns
	ph.conns = nil
	ph.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

func (ph *Phone) contactHeader() *gosip.ContactHeader {
	return &gosip.ContactHeader{Address: ph.contact}
}

// outbound is where the phone sends a new call: its registrar, over its TCP connection
// or its UDP socket. ok is false when the phone is not registered.
func (ph *Phone) outbound() (link, netip.AddrPort, bool) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if ph.state.Mode == Offline {
		return nil, netip.AddrPort{}, false
	}
	if !ph.tcp {
		return ph.sock, ph.state.Registrar, true
	}
	c := ph.conns[ph.state.Registrar]
	if c == nil || c.closed.Load() {
		return nil, netip.AddrPort{}, false
	}
	return c, ph.state.Registrar, true
}

func (ph *Phone) leg(id string) *Leg {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return ph.legs[id]
}

func (ph *Phone) track(l *Leg) {
	ph.mu.Lock()
	if ph.legs == nil {
		ph.legs = map[string]*Leg{}
	}
	ph.legs[l.id] = l
	ph.mu.Unlock()
}

// forget drops an ended leg after a while: retransmissions of its last messages still find
// it meanwhile.
func (ph *Phone) forget(l *Leg) {
	time.AfterFunc(inviteLinger, func() {
		ph.mu.Lock()
		if ph.legs[l.id] == l {
			delete(ph.legs, l.id)
		}
		ph.mu.Unlock()
	})
}

// Calls returns how many calls the phone has that are not over.
func (ph *Phone) Calls() int {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	n := 0
	for _, l := range ph.legs {
		if l.State() != Ended {
			n++
		}
	}
	return n
}

func newTag() string { return gosip.GenerateTagN(12) }

func tagParams(tag string) gosip.HeaderParams {
	p := gosip.NewParams()
	p.Add("tag", tag)
	return p
}
