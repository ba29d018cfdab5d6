package sip

import (
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/internal/guard"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// crasher is one malformed request that killed serve before the input guard (issue 10.1),
// and what the pool must answer now.
type crasher struct {
	name    string
	msg     func(me, pool string) string
	code    int
	warning string
}

// without builds a request from its start line and headers, leaving out the header named
// by drop ("From:"); "{pool}" stands for the pool's address.
func without(start, body, drop string, headers ...string) func(me, pool string) string {
	return func(me, pool string) string {
		var kept []string
		for _, h := range headers {
			if !strings.HasPrefix(h, drop) {
				kept = append(kept, strings.ReplaceAll(h, "{pool}", pool))
			}
		}
		return rawMsg(me, strings.ReplaceAll(start, "{pool}", pool), body, kept...)
	}
}

func crashers() []crasher {
	sdp := tinySDP("127.0.0.1")
	park := func(drop string) func(me, pool string) string {
		return without("INVITE sip:park@{pool} SIP/2.0", sdp, drop,
			"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:bob@contoso.com>;tag=p1", "To: <sip:park@{pool}>",
			"Call-ID: park-"+drop+"@{me}", "CSeq: 1 INVITE", "Contact: <sip:bob@{me}>", "Referred-By: <sip:alice@contoso.com>",
			"Max-Forwards: 70", "Content-Type: application/sdp")
	}
	invite := func(drop string) func(me, pool string) string { // bob has a pickup number
		return without("INVITE sip:bob@contoso.com SIP/2.0", sdp, drop,
			"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:x@example.org>;tag=1", "To: <sip:bob@contoso.com>",
			"Call-ID: inv-"+drop+"@{me}", "CSeq: 1 INVITE", "Contact: <sip:x@{me}>", "Max-Forwards: 70",
			"Content-Type: application/sdp")
	}
	register := func(drop, cseq string) func(me, pool string) string {
		return without("REGISTER sip:contoso.com SIP/2.0", "", drop,
			"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:alice@contoso.com>;tag=r1", "To: <sip:alice@contoso.com>",
			"Call-ID: reg-"+drop+"@{me}", "CSeq: 1 "+cseq, "Contact: <sip:alice@{me}>", "Max-Forwards: 70")
	}
	return []crasher{
		{"REGISTER without To", register("To:", "REGISTER"), 400, "no To header"},
		{"INVITE without From to a user with a pickup number", invite("From:"), 400, "no From header"},
		{"park INVITE without From", park("From:"), 400, "no From header"},
		{"park INVITE without Contact", park("Contact:"), 400, "no Contact header"},
		{"park INVITE without To", park("To:"), 400, "no To header"},
		{"INVITE without Call-ID", invite("Call-ID:"), 400, "no Call-ID header"},
		{"REGISTER whose CSeq names another method", register("none", "INVITE"), 400, "CSeq method INVITE"},
	}
}

func TestMalformedRequestsAreRefusedAndThePoolGoesOn(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob") // bob has pickup number 100: his calls are queued
	p1, _ := l.net.Pool(pool01)
	for _, c := range crashers() {
		t.Run(c.name, func(t *testing.T) {
			r := newRawPeer(t)
			res := r.final(p1.Addr(), c.msg(r.addr(), p1.Addr()))
			require.NotNil(t, res, "no final answer")
			assert.Equal(t, c.code, res.StatusCode)
			assert.Contains(t, warningOf(res), c.warning)

			reg, err := l.phone("dave").Register(ctx(t))
			require.NoError(t, err, "the pool must still answer a normal REGISTER")
			assert.Equal(t, p1.Addr(), reg.Registrar)
		})
	}
	assert.Zero(t, l.handlerPanics())
	assert.Empty(t, p1.ParkedCalls(), "nothing was parked by a malformed request")
}

// serveUDP serves srv on a loopback UDP socket and returns its address.
func serveUDP(t *testing.T, ua *sipgo.UserAgent, srv *sipgo.Server) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.ServeUDP(conn)
	t.Cleanup(func() { conn.Close() })
	addr := conn.LocalAddr().String()
	require.NoError(t, siputil.WaitListening(ua, addr))
	return addr
}

// TestAPanickingHandlerIsAnswered500AndCounted runs a handler that panics behind the guard
// on a real SIP server: the sender gets a 500, the panic is counted, the server goes on.
func TestAPanickingHandlerIsAnswered500AndCounted(t *testing.T) {
	ua, err := sipgo.NewUA(siputil.NoDNS(nil))
	require.NoError(t, err)
	t.Cleanup(func() { ua.Close() })
	srv, _ := sipgo.NewServer(ua)
	var g guardCounters
	gd := guard.Guard{Agent: "test", Log: slog.New(slog.DiscardHandler), Panics: &g.panics}
	srv.OnOptions(func(req *gosip.Request, tx gosip.ServerTransaction) {
		gd.Run(req, &guard.Tx{ServerTransaction: tx}, func(req *gosip.Request, tx gosip.ServerTransaction) {
			if req.GetHeader("X-Panic") != nil {
				var m map[string]int
				m["boom"]++ // a nil map write, as a real bug would be
			}
			tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
		})
	})
	addr := serveUDP(t, ua, srv)

	options := func(r *rawPeer, extra ...string) string {
		return rawMsg(r.addr(), "OPTIONS sip:test@"+addr+" SIP/2.0", "", append([]string{
			"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:x@example.org>;tag=1",
			"To: <sip:test@example.org>", "Call-ID: " + gosip.GenerateTagN(8), "CSeq: 1 OPTIONS", "Max-Forwards: 70"}, extra...)...)
	}
	r := newRawPeer(t)
	res := r.final(addr, options(r, "X-Panic: yes"))
	require.NotNil(t, res)
	assert.Equal(t, 500, res.StatusCode)
	assert.Contains(t, warningOf(res), "could not handle this request")
	assert.Equal(t, uint64(1), g.panics.Load())

	res = r.final(addr, options(r))
	require.NotNil(t, res, "the server goes on after a panic")
	assert.Equal(t, 200, res.StatusCode)
}

// TestAHandlerThatAnswersNothingIsAnswered500 checks the guard's last resort: sipgo ends
// a transaction when its handler returns, so an unanswered request would be retransmitted
// into silence.
func TestAHandlerThatAnswersNothingIsAnswered500(t *testing.T) {
	ua, err := sipgo.NewUA(siputil.NoDNS(nil))
	require.NoError(t, err)
	t.Cleanup(func() { ua.Close() })
	srv, _ := sipgo.NewServer(ua)
	gd := guard.Guard{Agent: "test", Log: slog.New(slog.DiscardHandler)}
	srv.OnMessage(func(req *gosip.Request, tx gosip.ServerTransaction) {
		gd.Run(req, &guard.Tx{ServerTransaction: tx}, func(*gosip.Request, gosip.ServerTransaction) {})
	})
	addr := serveUDP(t, ua, srv)
	r := newRawPeer(t)
	res := r.final(addr, rawMsg(r.addr(), "MESSAGE sip:test@"+addr+" SIP/2.0", "hi",
		"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:x@example.org>;tag=1",
		"To: <sip:test@example.org>", "Call-ID: m1", "CSeq: 1 MESSAGE", "Max-Forwards: 70"))
	require.NotNil(t, res)
	assert.Equal(t, 500, res.StatusCode)
}

// TestAStoppedPoolAnswersNothing: a handler cut short by the pool's outage leaves its
// request unanswered on purpose; the guard does not answer 500 for a pool that is down
// (a replay's call then failed with a 500 from a dead pool instead of ringing on).
func TestAStoppedPoolAnswersNothing(t *testing.T) {
	ua, err := sipgo.NewUA(siputil.NoDNS(nil))
	require.NoError(t, err)
	t.Cleanup(func() { ua.Close() })
	srv, _ := sipgo.NewServer(ua)
	var stopped atomic.Bool
	gd := guard.Guard{Agent: "test", Log: slog.New(slog.DiscardHandler), Stopped: stopped.Load}
	srv.OnMessage(func(req *gosip.Request, tx gosip.ServerTransaction) {
		gd.Run(req, &guard.Tx{ServerTransaction: tx}, func(*gosip.Request, gosip.ServerTransaction) {})
	})
	addr := serveUDP(t, ua, srv)
	message := func(r *rawPeer, id string) string {
		return rawMsg(r.addr(), "MESSAGE sip:test@"+addr+" SIP/2.0", "hi",
			"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:x@example.org>;tag=1",
			"To: <sip:test@example.org>", "Call-ID: "+id, "CSeq: 1 MESSAGE", "Max-Forwards: 70")
	}
	r := newRawPeer(t)
	res := r.final(addr, message(r, "m1"))
	require.NotNil(t, res)
	assert.Equal(t, 500, res.StatusCode, "running: an unanswered request gets the guard's 500")
	stopped.Store(true)
	r.send(addr, message(r, "m2"))
	assert.Nil(t, r.next(300*time.Millisecond), "stopped: no answer at all")
}

// TestAPhoneSurvivesMalformedRequests sends the crashers to a simulated phone.
func TestAPhoneSurvivesMalformedRequests(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob")
	bob := l.phone("bob")
	for _, c := range crashers() {
		if c.name[:6] != "INVITE" && c.name[:4] != "park" {
			continue // a phone is no registrar: REGISTERs get 405
		}
		r := newRawPeer(t)
		res := r.final(bob.Addr(), c.msg(r.addr(), bob.Addr()))
		require.NotNil(t, res, "%s: no answer from the phone", c.name)
		assert.Equal(t, 400, res.StatusCode, c.name)
	}
	l.connect("alice", "bob") // and still takes calls
	assert.Zero(t, l.handlerPanics())
}

// TestAPhoneSurvivesAHostileAnswer: the callee answers 200 OK without To or Contact; the
// caller's phone must fail the call, not crash.
func TestAPhoneSurvivesAHostileAnswer(t *testing.T) {
	for _, drop := range []string{"To", "Contact", "From", "nothing"} {
		name := "without " + drop
		if drop == "nothing" {
			name = "with a Contact naming a host"
		}
		t.Run(name, func(t *testing.T) {
			l := newLab(t, labTopology())
			l.registerAll("bob")
			p1, _ := l.net.Pool(pool01)
			callee := newRawPeer(t)
			res := callee.final(p1.Addr(), registerMsg(callee.addr(), "UDP", "alice"))
			require.NotNil(t, res)
			c, err := l.phone("bob").Dial("alice")
			require.NoError(t, err)
			var inv *gosip.Request
			for inv == nil {
				m := callee.next(3 * time.Second)
				require.NotNil(t, m, "the INVITE never arrived")
				inv, _ = m.(*gosip.Request)
			}
			ok := gosip.NewResponseFromRequest(inv, 200, "OK", []byte(tinySDP("127.0.0.1")))
			contact := gosip.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1", Port: callee.conn.LocalAddr().(*net.UDPAddr).Port}
			if drop == "nothing" {
				contact = gosip.Uri{Scheme: "sip", User: "alice", Host: "callee.example.com"}
			}
			ok.AppendHeader(&gosip.ContactHeader{Address: contact})
			ok.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
			if to := ok.To(); to != nil {
				to.Params.Add("tag", "hostile")
			}
			ok.RemoveHeader(drop)
			callee.send(inv.Source(), ok.String())
			callee.send(p1.Addr(), ok.String())
			st, err := c.WaitState(ctx(t), phone.Established, phone.Failed, phone.Cancelled)
			require.NoError(t, err)
			t.Logf("bob's call: %s (%s)", st, c.Outcome())
			if drop == "nothing" {
				assert.Equal(t, phone.Established, st, "the pool gave the answer the callee's address")
				ack, _ := callee.next(3 * time.Second).(*gosip.Request)
				require.NotNil(t, ack, "the ACK reached the callee")
				assert.Equal(t, gosip.ACK, ack.Method)
			} else {
				assert.Equal(t, phone.Failed, st)
			}
			assert.Zero(t, l.handlerPanics())
			assert.Zero(t, l.dnsLookups(), "the phone did not look for somewhere else to send its ACK")
			l.registerAll("bob") // the phone and the pool go on
		})
	}
}
