package loadphone

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// socketBuffer is the kernel buffer asked for on every shared socket: a storm of answers
// to thousands of phones arrives at a few sockets at once (SIPp and Kamailio use 4 MiB
// for the same reason; the kernel caps it at net.core.rmem_max).
const socketBuffer = 4 << 20

// link is where a message leaves from: a shared UDP socket, or a phone's TCP connection.
type link interface {
	write(b []byte, dst netip.AddrPort) error
	// sentBy is what the Via of a request sent on this link says: transport and address.
	sentBy() (string, netip.AddrPort)
	reliable() bool
}

// udpSocket is one shared UDP socket, its phones' Contacts point at it, with a TCP
// listener on the same port: a pool sends the requests of a dialog that began over TCP
// over TCP to the Contact (sipgo keeps a dialog on the INVITE's transport).
type udpSocket struct {
	pop  *Population
	conn *net.UDPConn
	tcp  *net.TCPListener
	addr netip.AddrPort
}

func listenUDP(pop *Population, ip netip.Addr) (*udpSocket, error) {
	var lastErr error
	for range 20 {
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			return nil, fmt.Errorf("load phones: udp socket on %s: %w", ip, err)
		}
		a := conn.LocalAddr().(*net.UDPAddr).AddrPort()
		ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(a))
		if err != nil {
			conn.Close()
			lastErr = err
			continue
		}
		_ = conn.SetReadBuffer(socketBuffer)
		_ = conn.SetWriteBuffer(socketBuffer)
		return &udpSocket{pop: pop, conn: conn, tcp: ln, addr: netip.AddrPortFrom(a.Addr().Unmap(), a.Port())}, nil
	}
	return nil, fmt.Errorf("load phones: no port free for both udp and tcp on %s: %w", ip, lastErr)
}

// acceptLoop takes the connections pools open to the socket's TCP side.
func (s *udpSocket) acceptLoop() {
	defer s.pop.wg.Done()
	for {
		c, err := s.tcp.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		l, r := c.LocalAddr().(*net.TCPAddr).AddrPort(), c.RemoteAddr().(*net.TCPAddr).AddrPort()
		tc := &tcpConn{pop: s.pop, conn: c, local: netip.AddrPortFrom(l.Addr().Unmap(), l.Port()), remote: netip.AddrPortFrom(r.Addr().Unmap(), r.Port())}
		s.pop.accepted(tc)
		s.pop.wg.Add(1)
		go tc.readLoop()
	}
}

func (s *udpSocket) write(b []byte, dst netip.AddrPort) error {
	_, err := s.conn.WriteToUDPAddrPort(b, dst)
	if err == nil {
		s.pop.stats.sent.Add(1)
	}
	return err
}

func (s *udpSocket) sentBy() (string, netip.AddrPort) { return "UDP", s.addr }
func (s *udpSocket) reliable() bool                   { return false }

// readLoop reads datagrams until the socket closes and handles each in turn.
func (s *udpSocket) readLoop() {
	defer s.pop.wg.Done()
	buf := make([]byte, 65535)
	parser := gosip.NewParser()
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.pop.stats.received.Add(1)
		msg, err := parser.ParseSIP(buf[:n])
		if err != nil {
			s.pop.stats.unparsable.Add(1)
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		msg.SetSource(from.String())
		msg.SetTransport("UDP")
		s.pop.handle(msg, s, from)
	}
}

// tcpConn is a TCP phone's connection to its registrar, or one a pool opened to a shared
// socket (ph is nil).
type tcpConn struct {
	pop    *Population
	ph     *Phone
	conn   net.Conn
	local  netip.AddrPort
	remote netip.AddrPort
	mu     sync.Mutex // serialises writes
	closed atomic.Bool
}

// dialTCP connects a TCP phone to a registrar and starts reading.
func dialTCP(pop *Population, ph *Phone, to netip.AddrPort, timeout time.Duration) (*tcpConn, error) {
	d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: pop.ip.AsSlice()}}
	c, err := d.Dial("tcp", to.String())
	if err != nil {
		return nil, err
	}
	l := c.LocalAddr().(*net.TCPAddr).AddrPort()
	tc := &tcpConn{pop: pop, ph: ph, conn: c, local: netip.AddrPortFrom(l.Addr().Unmap(), l.Port()), remote: to}
	pop.stats.tcpConnects.Add(1)
	pop.wg.Add(1)
	go tc.readLoop()
	return tc, nil
}

func (t *tcpConn) write(b []byte, dst netip.AddrPort) error {
	if dst != t.remote {
		return fmt.Errorf("tcp connection to %s cannot reach %s", t.remote, dst)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_, err := t.conn.Write(b)
	if err == nil {
		t.pop.stats.sent.Add(1)
	}
	return err
}

func (t *tcpConn) sentBy() (string, netip.AddrPort) { return "TCP", t.local }
func (t *tcpConn) reliable() bool                   { return true }

func (t *tcpConn) close() {
	if t.closed.CompareAndSwap(false, true) {
		t.conn.Close()
	}
}

// readLoop reads the stream until it ends; a connection the pool closed (its outage) is
// reported to the phone, which registers again.
func (t *tcpConn) readLoop() {
	defer t.pop.wg.Done()
	r := bufio.NewReaderSize(t.conn, 4096)
	parser := gosip.NewParser()
	for {
		data, err := readStreamMessage(r)
		if err != nil {
			if !t.closed.Load() {
				t.closed.Store(true)
				t.conn.Close()
				if t.ph != nil {
					t.ph.connectionLost(t)
				}
			}
			return
		}
		if len(data) == 0 {
			continue // a keep-alive CRLF
		}
		t.pop.stats.received.Add(1)
		msg, err := parser.ParseSIP(data)
		if err != nil {
			t.pop.stats.unparsable.Add(1)
			continue
		}
		msg.SetSource(t.remote.String())
		msg.SetTransport("TCP")
		t.pop.handle(msg, t, t.remote)
	}
}

// readStreamMessage reads one SIP message from a stream: headers up to the empty line,
// then Content-Length bytes of body (RFC 3261 18.3). Empty lines between messages (RFC
// 5626 keep-alives) come back as an empty message.
func readStreamMessage(r *bufio.Reader) ([]byte, error) {
	var msg []byte
	length := 0
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, errors.New("header line too long")
			}
			return nil, err
		}
		if len(msg) == 0 && (len(line) == 2 && line[0] == '\r' || len(line) == 1) {
			return nil, nil
		}
		msg = append(msg, line...)
		trimmed := strings.TrimRight(string(line), "\r\n")
		if trimmed == "" {
			break
		}
		if name, value, ok := strings.Cut(trimmed, ":"); ok {
			name = strings.TrimSpace(name)
			if strings.EqualFold(name, "Content-Length") || name == "l" {
				length, _ = strconv.Atoi(strings.TrimSpace(value))
			}
		}
		if len(msg) > 64<<10 {
			return nil, errors.New("message headers too large")
		}
	}
	if length < 0 || length > 64<<10 {
		return nil, errors.New("bad Content-Length")
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return append(msg, body...), nil
}

// handle routes a message read from l: a response to its client transaction, a request to
// the phone its Request-URI names.
func (pop *Population) handle(msg gosip.Message, l link, from netip.AddrPort) {
	switch m := msg.(type) {
	case *gosip.Response:
		pop.onResponse(m)
	case *gosip.Request:
		ph := pop.phones[m.Recipient.User]
		if ph == nil {
			if m.Method != gosip.ACK {
				pop.respondStateless(m, 404, "Not Found", l, from)
			}
			return
		}
		ph.onRequest(m, l, from)
	}
}

// respondStateless answers a request with nothing to remember.
func (pop *Population) respondStateless(req *gosip.Request, code int, reason string, l link, to netip.AddrPort) {
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	_ = l.write(encode(res), to)
}

// encode renders a message for the wire.
func encode(m gosip.Message) []byte {
	var sb strings.Builder
	sb.Grow(1024)
	m.StringWrite(&sb)
	return []byte(sb.String())
}

// sink is the RTP socket that every call without measured media points its SDP at: it
// reads and drops what arrives, so music on hold sent to a load phone costs no more.
type sink struct {
	conn *net.UDPConn
	addr netip.AddrPort
	got  atomic.Uint64
}

func listenSink(ip netip.Addr) (*sink, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		return nil, fmt.Errorf("load phones: rtp sink: %w", err)
	}
	_ = conn.SetReadBuffer(socketBuffer)
	a := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return &sink{conn: conn, addr: netip.AddrPortFrom(a.Addr().Unmap(), a.Port())}, nil
}

func (s *sink) drain(wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 2048)
	for {
		if _, _, err := s.conn.ReadFromUDPAddrPort(buf); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.got.Add(1)
	}
}
