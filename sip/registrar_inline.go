package sip

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"sync"

	gosip "github.com/emiago/sipgo/sip"
)

// The registrar's UDP fast path. sipgo hands every datagram to a goroutine of its own and
// a server transaction, then calls the handler. Measured alone (a bare sipgo server,
// cmd/pickupsim/testdata/bench/sipgofloor), that costs about 40 µs of CPU per REGISTER on
// the 2-core benchmark machine, twice Kamailio's whole 20 µs: waking a thread for the
// goroutine, growing its stack, and the transaction's timers (issue 14). The registrar
// answers every REGISTER statelessly anyway (registrar.go), so over UDP it needs neither:
// the socket's reader parses a REGISTER and runs the registrar on the spot, as Kamailio's
// worker processes do, then reads the next datagram. Everything else, and every REGISTER
// over TCP or TLS, goes to sipgo as before.
//
// While sipgo's SIP tracer is on (wiretap: replays' captures and golden traces, serve
// --pcap), REGISTERs take sipgo's path too, so that every message is traced where it is
// read and written.

// inlineRegistrar parses and answers the REGISTERs a pool's UDP socket reads.
type inlineRegistrar struct {
	rt     *runtime
	parser *gosip.Parser
}

// take handles datagram b from addr when it is a REGISTER, and reports whether it did; a
// datagram it does not take goes on to sipgo, which parses it again and answers or logs
// a malformed one as for any other request.
func (ir *inlineRegistrar) take(b []byte, from net.Addr, sock net.PacketConn) bool {
	if !bytes.HasPrefix(b, []byte("REGISTER ")) || gosip.SIPDebug {
		return false
	}
	msg, err := ir.parser.ParseSIP(b)
	if err != nil {
		return false
	}
	req, ok := msg.(*gosip.Request)
	if !ok {
		return false
	}
	src := from.String()
	req.SetTransport("UDP")
	req.SetSource(src)
	tx := &inlineTx{conn: inlineConn{sock: sock, to: from, toText: src}, done: closedChan}
	ir.rt.observe(ir.rt.onRegister)(req, tx)
	return true
}

// closedChan is the Done channel of every inline transaction: it holds nothing to wait for.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// inlineTx stands for the server transaction sipgo would have made: every response on it
// leaves statelessly, on the socket the REGISTER came in on, to where it came from
// (RFC 3581: the response goes to the source address and port).
type inlineTx struct {
	conn inlineConn
	done chan struct{}
}

func (t *inlineTx) Respond(res *gosip.Response) error    { return t.conn.WriteMsg(res) }
func (t *inlineTx) Acks() <-chan *gosip.Request          { return nil }
func (t *inlineTx) OnCancel(gosip.FnTxCancel) bool       { return false }
func (t *inlineTx) Terminate()                           {}
func (t *inlineTx) OnTerminate(gosip.FnTxTerminate) bool { return false }
func (t *inlineTx) Done() <-chan struct{}                { return t.done }
func (t *inlineTx) Err() error                           { return nil }
func (t *inlineTx) Connection() gosip.Connection         { return &t.conn }

// inlineConn writes messages on the pool's UDP socket: the one sipgo's listener
// connection wraps, so an answer leaves from the pool's address as sipgo's would.
type inlineConn struct {
	sock   net.PacketConn
	to     net.Addr
	toText string // to, as sipgo writes a source address
}

var inlineBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// errInlineTooLarge mirrors sipgo's refusal of a UDP message over its limit (transport.go).
var errInlineTooLarge = errors.New("sip message too large for UDP")

func (c *inlineConn) LocalAddr() net.Addr { return c.sock.LocalAddr() }

// WriteMsg sends msg to its destination when it names one (a response built from the
// request names the request's source), else to where the request came from.
func (c *inlineConn) WriteMsg(msg gosip.Message) error {
	to := c.to
	if d := msg.Destination(); d != "" && d != c.toText {
		ap, err := netip.ParseAddrPort(d)
		if err != nil {
			return err
		}
		to = net.UDPAddrFromAddrPort(ap)
	}
	return c.writeTo(msg, to)
}

func (c *inlineConn) writeTo(msg gosip.Message, to net.Addr) error {
	buf := inlineBuffers.Get().(*bytes.Buffer)
	defer inlineBuffers.Put(buf)
	buf.Reset()
	msg.StringWrite(buf)
	if buf.Len() > gosip.UDPMTUSize-200 {
		return errInlineTooLarge
	}
	_, err := c.sock.WriteTo(buf.Bytes(), to)
	return err
}

func (c *inlineConn) Ref(int) int            { return 1 }
func (c *inlineConn) TryClose() (int, error) { return 1, nil }
func (c *inlineConn) Close() error           { return nil }
