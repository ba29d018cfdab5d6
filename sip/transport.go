package sip

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
)

// Transport limits and the RFC 3261 18.1.1 switch to TCP.
const (
	// MaxUDPMessage is the largest SIP message pools and phones read from, or send in, one
	// UDP datagram (sipgo's read buffer). A longer datagram is truncated by the socket and
	// dropped as unparsable.
	MaxUDPMessage = 32 << 10
	// maxUDPRequest is RFC 3261 18.1.1's bound: a request larger than 1300 bytes (the
	// path MTU being unknown) is sent over a congestion-controlled transport, TCP.
	maxUDPRequest = 1300
	// tcpDialTimeout bounds the TCP attempt of a large request before it falls back to UDP
	// (a peer that does not listen on TCP refuses at once; one that drops SYNs does not).
	tcpDialTimeout = 2 * time.Second

	// DefaultTCPIdleTimeout closes a TCP or TLS connection that sent nothing for this long.
	DefaultTCPIdleTimeout = 15 * time.Minute
	// maxTCPRegistration is the longest registration a pool grants over TCP or TLS: the
	// phone re-registers (and so speaks on its connection) before the idle timeout.
	maxTCPRegistration = 10 * time.Minute
	// DefaultMaxConnections caps the open TCP connections of one listener (TCP or TLS) of
	// one pool; connections over the cap are closed as soon as they are accepted.
	DefaultMaxConnections = 1024
)

// udpSocketBuffer is the receive and send buffer a pool asks of the kernel for its UDP
// socket. The default (~208 KB, net.core.rmem_default) overflows within milliseconds of a
// registration storm (the registrar failover timer running out for a whole pool), and the
// kernel drops what does not fit: the phones then retransmit, and the storm feeds itself.
// Kamailio and SIPp ask 4 MiB too. The kernel caps the figure at net.core.rmem_max and
// wmem_max (issue 14: with it, a pool took 10,000 REGISTER/s cleanly instead of 3,000).
const udpSocketBuffer = 4 << 20

// sizeForStorms gives a pool's UDP socket udpSocketBuffer; a kernel that caps it lower
// leaves the socket as large as it allows.
func sizeForStorms(c net.PacketConn) {
	if u, ok := c.(*net.UDPConn); ok {
		_ = u.SetReadBuffer(udpSocketBuffer)
		_ = u.SetWriteBuffer(udpSocketBuffer)
	}
}

func init() {
	// sipgo refuses to send any UDP message over UDPMTUSize-200 bytes (1300 by default),
	// responses included, which RFC 3261 does not ask: a 200 OK with a long SDP must go
	// back the way its INVITE came. Requests follow 18.1.1 in request() below.
	gosip.TransportBufferReadSize = MaxUDPMessage
	gosip.UDPMTUSize = MaxUDPMessage + 200
}

// transportOptions are the user-agent options that give TCP and TLS connections the idle
// timeout.
func transportOptions(idle time.Duration, log *slog.Logger) sipgo.UserAgentOption {
	return sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerTransports(gosip.TransportsConfig{
		TCP: &gosip.TransportTCP{ReadTimeout: idle},
		TLS: &gosip.TransportTLS{TransportTCP: &gosip.TransportTCP{ReadTimeout: idle}},
	}), gosip.WithTransportLayerLogger(log)) // sipgo's own lines in serve's log format
}

// request sends out to dest as a client transaction, with a Via of the pool's and
// Max-Forwards decreased. A request over maxUDPRequest bytes for a UDP destination goes by
// TCP (RFC 3261 18.1.1) and falls back to UDP when the peer does not take TCP. It returns
// the request as sent (Via and transport), for a CANCEL to match.
func (rt *runtime) request(ctx context.Context, out *gosip.Request, dest target) (*gosip.Request, gosip.ClientTransaction, error) {
	rt.lamps.flush() // the lamps show what led to this request before it goes (blf_lamps.go)
	rt.address(out, dest)
	if strings.EqualFold(dest.transport, "udp") && len(out.String())+len("Via: SIP/2.0/UDP 255.255.255.255:65535;branch=z9hG4bK.0123456789abcdef;rport\r\n") > maxUDPRequest {
		big := out.Clone()
		tcp := dest
		tcp.transport = "tcp"
		rt.address(big, tcp)
		tctx, cancel := context.WithTimeout(ctx, tcpDialTimeout)
		clTx, err := rt.cli.TransactionRequest(tctx, big, sipgo.ClientRequestAddVia, sipgo.ClientRequestDecreaseMaxForward)
		cancel()
		if err == nil {
			return big, clTx, nil
		}
		rt.pool.log.Debug("large request: the peer does not take TCP, sending it by UDP", "call_id", siputil.CallID(out), "to", dest.addr, "err", err)
	}
	clTx, err := rt.cli.TransactionRequest(ctx, out, sipgo.ClientRequestAddVia, sipgo.ClientRequestDecreaseMaxForward)
	return out, clTx, err
}

// ListenerStatus is one of a pool's sockets as an operator sees it.
type ListenerStatus struct {
	Transport string // udp, tcp or tls
	Addr      string
	// Up is false when the socket stopped serving while the pool was up (a dead listener).
	Up bool
	// Open counts the open connections (TCP and TLS); Refused those closed at the cap;
	// Retries the temporary accept errors (out of file descriptors) retried.
	Open    int
	Refused uint64
	Retries uint64
}

// listener is a pool's TCP or TLS listener as sipgo serves it. sipgo's accept loop ends on
// the first error; this one retries temporary errors (EMFILE, ENFILE, ECONNABORTED) with a
// growing pause, as net/http does, closes connections over the cap as soon as they are
// accepted, and remembers when serving stopped for another reason.
type listener struct {
	net.Listener
	serving
	max int

	open    atomic.Int64
	refused atomic.Uint64
	retries atomic.Uint64
}

func newListener(ln net.Listener, transport string, max int, log *slog.Logger) *listener {
	if max <= 0 {
		max = DefaultMaxConnections
	}
	return &listener{Listener: ln, serving: serving{transport: transport, log: log}, max: max}
}

// serving records whether a socket the pool serves stopped on purpose (closing) or died.
type serving struct {
	transport string
	log       *slog.Logger
	closing   atomic.Bool
	dead      atomic.Bool
}

// served records that sipgo stopped serving the socket; unless the pool closed it, it is
// dead.
func (s *serving) served(err error) {
	if s.closing.Load() {
		return
	}
	s.dead.Store(true)
	s.log.Error("socket stopped serving: the pool no longer accepts SIP over "+strings.ToUpper(s.transport), "err", err)
}

// Accept returns the next connection under the cap, retrying temporary errors.
func (l *listener) Accept() (net.Conn, error) {
	var pause time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if !l.closing.Load() && errors.As(err, &ne) && ne.Temporary() { //nolint:staticcheck // as net/http's Server.Serve
				pause = min(max(2*pause, 5*time.Millisecond), time.Second)
				l.retries.Add(1)
				l.log.Warn("accept failed; retrying", "transport", l.transport, "err", err, "pause", pause)
				time.Sleep(pause)
				continue
			}
			return nil, err
		}
		pause = 0
		if l.open.Load() >= int64(l.max) {
			l.refused.Add(1)
			l.log.Warn("connection refused: the listener's connection cap is reached", "transport", l.transport,
				"from", c.RemoteAddr().String(), "cap", l.max)
			c.Close()
			continue
		}
		l.open.Add(1)
		return &countedConn{Conn: c, l: l}, nil
	}
}

// Close stops the listener on purpose (an outage, a shutdown).
func (l *listener) Close() error {
	l.closing.Store(true)
	return l.Listener.Close()
}

func (l *listener) status() ListenerStatus {
	return ListenerStatus{Transport: l.transport, Addr: l.Addr().String(), Up: !l.dead.Load(),
		Open: int(l.open.Load()), Refused: l.refused.Load(), Retries: l.retries.Load()}
}

// countedConn gives its slot back to the listener's cap when closed.
type countedConn struct {
	net.Conn
	l    *listener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

// udpSocket is a pool's UDP socket with the same dead-or-alive record as a listener.
type udpSocket struct {
	net.PacketConn
	serving
	order *ackOrder // dialog_order.go
	hooks func() testHooks
	// registrar answers REGISTERs as they are read (registrar_inline.go); set before the
	// socket serves.
	registrar *inlineRegistrar
}

// WriteTo sends a datagram, unless a test loses it on purpose (hooks.go loseSent).
func (u *udpSocket) WriteTo(b []byte, addr net.Addr) (int, error) {
	if u.hooks != nil {
		if lose := u.hooks().loseSent; lose != nil && lose(b, addr.String()) {
			return len(b), nil
		}
	}
	return u.PacketConn.WriteTo(b, addr)
}

// ReadFrom reads the next datagram for sipgo: a REGISTER is answered on the spot and the
// next one read; an ACK is noted in the order it arrived.
func (u *udpSocket) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := u.PacketConn.ReadFrom(b)
		if err == nil {
			if u.registrar != nil && u.registrar.take(b[:n], addr, u.PacketConn) {
				continue
			}
			if u.order != nil {
				u.order.read(b[:n])
			}
		}
		return n, addr, err
	}
}

func (u *udpSocket) Close() error {
	u.closing.Store(true)
	return u.PacketConn.Close()
}

// Listeners returns the state of the pool's sockets (none while it is down).
func (p *Pool) Listeners() []ListenerStatus {
	rt := p.runtime()
	if rt == nil {
		return nil
	}
	out := []ListenerStatus{{Transport: "udp", Addr: rt.udp.LocalAddr().String(), Up: !rt.udp.dead.Load()}, rt.tcp.status()}
	if rt.tls != nil {
		out = append(out, rt.tls.status())
	}
	return out
}
