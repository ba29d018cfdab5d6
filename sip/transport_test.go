package sip

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/lync"
)

// bigSDP is an audio offer padded with ICE candidates, as softphones send: about 3 kB.
func bigSDP(host string) string {
	var b strings.Builder
	b.WriteString(tinySDP(host))
	for i := range 40 {
		fmt.Fprintf(&b, "a=candidate:%d 1 UDP 2130706431 %s %d typ host generation 0\r\n", i, host, 40000+i)
	}
	return b.String()
}

func bigInvite(r *rawPeer, user string) string {
	return rawMsg(r.addr(), "INVITE sip:"+user+"@contoso.com SIP/2.0", bigSDP("127.0.0.1"),
		"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:ext@example.org>;tag=big1",
		"To: <sip:"+user+"@contoso.com>", "Call-ID: big-"+gosip.GenerateTagN(8), "CSeq: 1 INVITE",
		"Contact: <sip:ext@{me}>", "Max-Forwards: 70", "Content-Type: application/sdp")
}

// TestALargeInviteCrossesAPoolByTCP: a 3 kB INVITE arrives over UDP; the pool sends it on
// to the callee by TCP (RFC 3261 18.1.1), and the callee's 3 kB 200 OK goes back to the
// caller over UDP.
func TestALargeInviteCrossesAPoolByTCP(t *testing.T) {
	l := newLab(t, labTopology())
	p1, _ := l.net.Pool(pool01)
	callee := newRawPeer(t) // alice's "phone": UDP and TCP on the same port
	tcpLn, err := net.Listen("tcp", callee.addr())
	require.NoError(t, err)
	t.Cleanup(func() { tcpLn.Close() })
	res := callee.final(p1.Addr(), registerMsg(callee.addr(), "UDP", "alice"))
	require.NotNil(t, res)
	require.Equal(t, 200, res.StatusCode)

	caller := newRawPeer(t)
	invite := bigInvite(caller, "alice")
	require.Greater(t, len(invite), 2900)
	caller.send(p1.Addr(), invite)

	tcpLn.(*net.TCPListener).SetDeadline(time.Now().Add(3 * time.Second))
	conn, err := tcpLn.Accept()
	require.NoError(t, err, "the pool opened no TCP connection to the callee")
	defer conn.Close()
	in := &tcpPeer{t: t, conn: conn}
	var got *gosip.Request
	for got == nil {
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		chunk := make([]byte, 65535)
		n, err := conn.Read(chunk)
		require.NoError(t, err, "the INVITE did not arrive over TCP")
		in.buf = append(in.buf, chunk[:n]...)
		if m, _, ok := splitSIP(in.buf); ok {
			got, _ = m.(*gosip.Request)
		}
	}
	assert.Equal(t, "INVITE", string(got.Method))
	assert.Equal(t, "TCP", got.Via().Transport, "the pool's Via names TCP")
	assert.Equal(t, bigSDP("127.0.0.1"), string(got.Body()), "the whole SDP crossed")

	ok := gosip.NewResponseFromRequest(got, 200, "OK", []byte(bigSDP("127.0.0.1")))
	ok.To().Params.Add("tag", "callee1")
	ok.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1", Port: callee.conn.LocalAddr().(*net.UDPAddr).Port}})
	ok.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	_, err = conn.Write([]byte(ok.String()))
	require.NoError(t, err)

	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		m := caller.next(time.Until(deadline))
		if r, isRes := m.(*gosip.Response); isRes && r.StatusCode == 200 {
			assert.Greater(t, len(r.String()), 1300, "a 200 OK over 1300 bytes went back over UDP")
			return
		}
	}
	t.Fatal("the caller never got the 200 OK")
}

// TestALargeInviteReachesAPhoneWithoutTCP: the callee listens on UDP only, so the pool's
// TCP attempt is refused and the INVITE goes by UDP; the phone answers.
func TestALargeInviteReachesAPhoneWithoutTCP(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice")
	l.phone("alice").SetAutoAnswer(true)
	p1, _ := l.net.Pool(pool01)
	caller := newRawPeer(t)
	res := caller.final(p1.Addr(), bigInvite(caller, "alice"))
	require.NotNil(t, res, "no final answer to the large INVITE")
	assert.Equal(t, 200, res.StatusCode, "alice's phone answered: %s", lync.OutcomeOf(res))
	calls := l.phone("alice").Calls()
	require.Len(t, calls, 1)
	assert.Equal(t, "ext", calls[0].Remote())
}

// TestLargeDatagramsAreAcceptedUpToTheLimit: a REGISTER of 20 kB in one datagram is
// answered; one over MaxUDPMessage is dropped and the pool goes on.
func TestLargeDatagramsAreAcceptedUpToTheLimit(t *testing.T) {
	l := newLab(t, labTopology())
	p1, _ := l.net.Pool(pool01)
	r := newRawPeer(t)
	padded := func(size int) string {
		msg := registerMsg(r.addr(), "UDP", "alice")
		return strings.Replace(msg, "Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nX-Pad: "+strings.Repeat("x", size-len(msg))+"\r\n", 1)
	}
	res := r.final(p1.Addr(), padded(20<<10))
	require.NotNil(t, res, "a 20 kB REGISTER got no answer")
	assert.Equal(t, 200, res.StatusCode)

	r.send(p1.Addr(), padded(MaxUDPMessage+1000))
	assert.NoError(t, r.silence(500*time.Millisecond), "a datagram over the limit is dropped")
	res = r.final(p1.Addr(), registerMsg(r.addr(), "UDP", "alice"))
	require.NotNil(t, res)
	assert.Equal(t, 200, res.StatusCode, "and the pool goes on")
}

// startNet starts the lab topology with cfg's transport settings, without phones.
func startNet(t *testing.T, cfg Config) *Network {
	t.Helper()
	cfg.Topology = labTopology()
	n, _, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(n.Close)
	return n
}

// optionsOver sends OPTIONS on a TCP peer and returns the final answer.
func optionsOver(p *tcpPeer) *gosip.Response {
	return p.final(rawMsg(p.addr(), "OPTIONS sip:pool01.contoso.com SIP/2.0", "",
		"Via: SIP/2.0/TCP {me};branch={branch}", "From: <sip:x@example.org>;tag=o1", "To: <sip:pool01.contoso.com>",
		"Call-ID: opt-"+gosip.GenerateTagN(8), "CSeq: 1 OPTIONS", "Max-Forwards: 70"))
}

// closedByPeer reports whether c is closed by the other side within d.
func closedByPeer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 1024)
	for {
		_, err := c.Read(buf)
		if err != nil {
			ne, ok := err.(net.Error)
			return !(ok && ne.Timeout())
		}
	}
}

func TestIdleTCPConnectionsAreClosed(t *testing.T) {
	n := startNet(t, Config{TCPIdleTimeout: 300 * time.Millisecond})
	p1, _ := n.Pool(pool01)
	idle := newTCPPeer(t, p1.Addr())
	start := time.Now()
	assert.True(t, closedByPeer(idle.conn, 3*time.Second), "an idle connection is closed")
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestTCPConnectionsAreCapped(t *testing.T) {
	n := startNet(t, Config{MaxConnections: 3})
	p1, _ := n.Pool(pool01)
	var held []*tcpPeer
	for i := range 3 {
		c := newTCPPeer(t, p1.Addr())
		res := optionsOver(c)
		require.NotNil(t, res, "connection %d under the cap is served", i)
		held = append(held, c)
	}
	over := newTCPPeer(t, p1.Addr())
	assert.True(t, closedByPeer(over.conn, 2*time.Second), "a connection over the cap is closed")
	st := tcpStatus(t, p1)
	assert.Equal(t, 3, st.Open)
	assert.GreaterOrEqual(t, st.Refused, uint64(1))

	held[0].conn.Close()
	require.Eventually(t, func() bool { return tcpStatus(t, p1).Open == 2 }, 2*time.Second, 10*time.Millisecond)
	assert.NotNil(t, optionsOver(newTCPPeer(t, p1.Addr())), "a slot freed is taken again")
}

func tcpStatus(t *testing.T, p *Pool) ListenerStatus {
	for _, l := range p.Listeners() {
		if l.Transport == "tcp" {
			return l
		}
	}
	t.Fatal("no TCP listener")
	return ListenerStatus{}
}

// TestTCPListenerSurvivesEMFILE runs itself in a child process whose file descriptor limit
// is just above what the pools need: connections are opened until the pool's accept fails
// with EMFILE, then closed; the pool must accept and answer SIP over TCP again.
func TestTCPListenerSurvivesEMFILE(t *testing.T) {
	if os.Getenv("PICKUPSIM_EMFILE_CHILD") == "1" {
		emfileChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestTCPListenerSurvivesEMFILE$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "PICKUPSIM_EMFILE_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child:\n%s", out)
	require.Contains(t, string(out), "EMFILE-CHILD-OK", "child:\n%s", out)
}

func emfileChild(t *testing.T) {
	n := startNet(t, Config{})
	p1, _ := n.Pool(pool01)
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	lim.Cur = uint64(len(fds) + 40)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))

	var conns []net.Conn
	for range 200 {
		c, err := net.DialTimeout("tcp", p1.Addr(), time.Second)
		if err != nil {
			break // the client side ran out too
		}
		conns = append(conns, c)
	}
	require.Eventually(t, func() bool { st := tcpStatus(t, p1); return st.Retries > 0 || !st.Up }, 5*time.Second, 10*time.Millisecond,
		"the pool's accept never met EMFILE (%d connections opened)", len(conns))
	for _, c := range conns {
		c.Close()
	}
	require.True(t, tcpStatus(t, p1).Up, "the TCP listener is alive")
	var res *gosip.Response
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", p1.Addr(), time.Second)
		if err != nil {
			return false
		}
		p := &tcpPeer{t: t, conn: c}
		defer c.Close()
		res = optionsOver(p)
		return res != nil
	}, 5*time.Second, 50*time.Millisecond, "the pool answers SIP over TCP after EMFILE")
	assert.Equal(t, 200, res.StatusCode)
	fmt.Println("EMFILE-CHILD-OK retries=" + strconv.FormatUint(tcpStatus(t, p1).Retries, 10))
}

// TestADeadListenerShowsInStatus: a listener that stops serving while its pool is up (its
// socket closed under it) is reported, not hidden behind the pool's "up".
func TestADeadListenerShowsInStatus(t *testing.T) {
	n := startNet(t, Config{})
	p1, _ := n.Pool(pool01)
	require.True(t, tcpStatus(t, p1).Up)
	p1.runtime().tcp.Listener.Close() // not through the pool: as a fatal accept error would
	require.Eventually(t, func() bool { return !tcpStatus(t, p1).Up }, 2*time.Second, 10*time.Millisecond)
	assert.True(t, p1.Up(), "the pool itself still answers over UDP")
}

// TestALargeCallBetweenPoolsKeepsItsIdentity: a 3 kB INVITE from alice (pool01) to erin
// (pool02) crosses from pool to pool by TCP; pool02 trusts pool01's P-Asserted-Identity
// on that connection (identity.go, peerPool) and passes it to erin.
func TestALargeCallBetweenPoolsKeepsItsIdentity(t *testing.T) {
	l := newLab(t, labTopology())
	p1, _ := l.net.Pool(pool01)
	p2, _ := l.net.Pool(pool02)
	alice, erin := newRawPeer(t), newRawPeer(t)
	for _, reg := range []struct {
		p    *rawPeer
		pool *Pool
		user string
	}{{alice, p1, "alice"}, {erin, p2, "erin"}} {
		res := reg.p.final(reg.pool.Addr(), registerMsg(reg.p.addr(), "UDP", reg.user))
		require.NotNil(t, res)
		require.Equal(t, 200, res.StatusCode)
	}
	invite := strings.Replace(bigInvite(alice, "erin"), "From: <sip:ext@example.org>", "From: <sip:alice@contoso.com>", 1)
	alice.send(p1.Addr(), invite)
	var got *gosip.Request
	deadline := time.Now().Add(5 * time.Second)
	for got == nil && time.Now().Before(deadline) {
		got, _ = erin.next(time.Until(deadline)).(*gosip.Request)
	}
	require.NotNil(t, got, "erin's INVITE never arrived")
	require.NotNil(t, got.GetHeader(lync.HeaderAssertedIdentity), "pool02 vouches for the caller")
	assert.Equal(t, "alice", lync.UserOf(got.GetHeader(lync.HeaderAssertedIdentity)))
	vias := got.GetHeaders("Via")
	require.Len(t, vias, 3)
	assert.Contains(t, vias[1].Value(), "SIP/2.0/TCP", "pool01 sent it to pool02 by TCP")
}

func TestAPoolAddressMustBeAnIPAddress(t *testing.T) {
	topo := labTopology()
	topo.Pools[0].Address = "localhost:0"
	_, _, err := Start(Config{Topology: topo})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "resolves no names")
}
