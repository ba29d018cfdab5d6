package wiretap

import (
	"bytes"
	"net/netip"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/media"
)

// Packet is one SIP message (or TCP chunk of SIP) or one RTP datagram, seen once.
type Packet struct {
	// Transport is "UDP" or "TCP": sipgo's TLS connections are TCP ones carrying the
	// decrypted bytes, and its WebSocket ones are reported as TCP too.
	Transport string
	// Media is set for an RTP stream's datagram (package media), clear for SIP.
	Media    bool
	From, To netip.AddrPort
	// Data is the payload; it is only valid during Capture.
	Data []byte
	// Written says the packet was first seen by its writer, not its reader.
	Written bool
	// At is when it was first seen (wall clock).
	At time.Time
}

// Sink receives the packets of the addresses it owns. Capture is called for one packet at
// a time per sink, in the order of their first sight; it must not call this package.
type Sink interface {
	Capture(Packet)
}

// hub dispatches what the tracer and the tap see to the owners of the addresses.
type hub struct {
	mu    sync.RWMutex
	owner map[netip.AddrPort]Sink
	rest  Sink
	state map[Sink]*state
}

var (
	theHub  = &hub{owner: map[netip.AddrPort]Sink{}, state: map[Sink]*state{}}
	install sync.Once
)

// Enable installs the tracer and the tap, once per process. It must run before any user
// agent starts: sipgo reads its trace switch without a lock.
func Enable() {
	install.Do(func() {
		gosip.SIPDebugTracer(theHub)
		gosip.SIPDebug = true
		media.SetTap(theHub.rtp)
	})
}

// Own gives s the packets from or to each of addrs ("ip:port"); an address owned by
// another sink passes to s. A malformed address is ignored.
func Own(s Sink, addrs ...string) {
	theHub.mu.Lock()
	defer theHub.mu.Unlock()
	for _, a := range addrs {
		if ap, err := netip.ParseAddrPort(a); err == nil {
			theHub.own(s, unmap(ap))
		}
	}
}

// OwnRest gives s the packets nobody owns (serve's capture: every packet of the process
// is its pools'). A later OwnRest replaces it.
func OwnRest(s Sink) {
	theHub.mu.Lock()
	defer theHub.mu.Unlock()
	theHub.rest = s
	theHub.stateOf(s)
}

// Release takes every address from s, and the rest if s had it: s gets no packet once
// Release returns.
func Release(s Sink) {
	theHub.mu.Lock()
	defer theHub.mu.Unlock()
	for a, o := range theHub.owner {
		if o == s {
			delete(theHub.owner, a)
		}
	}
	if theHub.rest == s {
		theHub.rest = nil
	}
	if st := theHub.state[s]; st != nil {
		delete(theHub.state, s)
		st.mu.Lock() // wait for a Capture in progress
		st.released = true
		st.mu.Unlock()
	}
}

// own records a's owner. h.mu is held for writing.
func (h *hub) own(s Sink, a netip.AddrPort) {
	h.owner[a] = s
	h.stateOf(s)
}

func (h *hub) stateOf(s Sink) *state {
	st := h.state[s]
	if st == nil {
		st = newState(s)
		h.state[s] = st
	}
	return st
}

// ownerOf returns the state of the sink that owns a or b, or else the rest's.
func (h *hub) ownerOf(a, b netip.AddrPort) *state {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s := h.owner[a]
	if s == nil {
		s = h.owner[b]
	}
	if s == nil {
		s = h.rest
	}
	if s == nil {
		return nil
	}
	return h.state[s]
}

// SIPTraceRead is sipgo's tracer: a transport read msg on laddr from raddr.
func (h *hub) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	h.sip(transport, raddr, laddr, msg, false)
}

// SIPTraceWrite is sipgo's tracer: a transport wrote msg from laddr to raddr.
func (h *hub) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	h.sip(transport, laddr, raddr, msg, true)
}

func (h *hub) sip(transport, from, to string, msg []byte, written bool) {
	f, err1 := netip.ParseAddrPort(from)
	t, err2 := netip.ParseAddrPort(to)
	if err1 != nil || err2 != nil || len(msg) == 0 {
		return
	}
	if transport != "UDP" {
		transport = "TCP"
	}
	f, t = unmap(f), unmap(t)
	f, t = onLoopback(f, t), onLoopback(t, f)
	p := Packet{Transport: transport, From: f, To: t, Data: msg, Written: written, At: time.Now()}
	if st := h.ownerOf(p.From, p.To); st != nil {
		if learned, ok := st.deliver(p); ok && learned.IsValid() {
			h.learn(st, learned)
		}
	}
}

// rtp is the media tap.
func (h *hub) rtp(from, to netip.AddrPort, b []byte, sent bool) {
	p := Packet{Transport: "UDP", Media: true, From: unmap(from), To: unmap(to), Data: b, Written: sent, At: time.Now()}
	if st := h.ownerOf(p.From, p.To); st != nil {
		st.deliver(p)
	}
}

// learn gives st's sink the media address a SIP message it captured advertised, unless
// the sink was released meanwhile.
func (h *hub) learn(st *state, a netip.AddrPort) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state[st.sink] == st {
		h.owner[a] = st.sink
	}
}

// mediaAddr returns the audio address an SDP body of a SIP message advertises: its c=
// address and m=audio port, if the message carries SDP and the port is not 0 (a refused
// stream, RFC 3264 §6).
func mediaAddr(msg []byte) netip.AddrPort {
	_, body, ok := bytes.Cut(msg, []byte("\r\n\r\n"))
	if !ok || !bytes.HasPrefix(body, []byte("v=0")) {
		return netip.AddrPort{}
	}
	a, err := media.ParseAudio(body)
	if err != nil || a.Addr.Port() == 0 || a.Addr.Addr().IsUnspecified() {
		return netip.AddrPort{}
	}
	return unmap(a.Addr)
}

// onLoopback names a socket bound to the unspecified address (0.0.0.0, ::) by the address
// it has towards a loopback peer: the kernel sends from there (a loopback destination is
// reached from a loopback source), and the peer's trace names it so. Towards any other
// peer the address is left as the tracer gave it.
func onLoopback(a, peer netip.AddrPort) netip.AddrPort {
	if !a.Addr().IsUnspecified() || !peer.Addr().IsLoopback() {
		return a
	}
	if peer.Addr().Is4() {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), a.Port()) // lo's "src 127.0.0.1"
	}
	return netip.AddrPortFrom(netip.IPv6Loopback(), a.Port())
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}
