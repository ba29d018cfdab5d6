package sip

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// strangerRequest is a request from a stranger asking the pool to carry it to ruri.
func strangerRequest(me, method, ruri string, toTag bool) string {
	to := "To: <" + ruri + ">"
	if toTag {
		to += ";tag=t1"
	}
	headers := []string{"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:mallory@example.org>;tag=m1", to,
		"Call-ID: relay-" + method + "-" + gosip.GenerateTagN(6), "CSeq: 1 " + method, "Max-Forwards: 70"}
	body := ""
	switch method {
	case "MESSAGE":
		headers = append(headers, "Content-Type: text/plain")
		body = "hello from mallory"
	case "INVITE":
		headers = append(headers, "Contact: <sip:mallory@{me}>", "Content-Type: application/sdp")
		body = tinySDP("127.0.0.1")
	case "NOTIFY":
		headers = append(headers, "Event: refer", "Subscription-State: active")
	case "REFER":
		headers = append(headers, "Contact: <sip:mallory@{me}>", "Refer-To: <sip:x@example.org>")
	}
	return rawMsg(me, method+" "+ruri+" SIP/2.0", body, headers...)
}

// TestAStrangerCannotUseAPoolAsARelay: out-of-dialog requests (and a To-tagged INVITE)
// for a host:port the pool knows nothing of are refused, and nothing reaches that host.
func TestAStrangerCannotUseAPoolAsARelay(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice")
	p1, _ := l.net.Pool(pool01)
	victim := newRawPeer(t) // a host:port the test owns; nothing may arrive there
	mallory := newRawPeer(t)
	for _, m := range []string{"MESSAGE", "BYE", "NOTIFY", "INFO", "UPDATE", "REFER", "INVITE"} {
		for _, ruri := range []string{"sip:victim@" + victim.addr(), "sip:bob@" + l.net.Domain()} {
			res := mallory.final(p1.Addr(), strangerRequest(mallory.addr(), m, ruri, true))
			require.NotNil(t, res, "%s to %s: no answer", m, ruri)
			assert.Equal(t, 403, res.StatusCode, "%s to %s", m, ruri)
			assert.Contains(t, warningOf(res), "relays requests only to phones registered on it", m)
			if m != "INVITE" {
				res = mallory.final(p1.Addr(), strangerRequest(mallory.addr(), m, ruri, false))
				require.NotNil(t, res, "out-of-dialog %s to %s: no answer", m, ruri)
				assert.Equal(t, 403, res.StatusCode, "out-of-dialog %s to %s", m, ruri)
			}
		}
	}
	mallory.send(p1.Addr(), strangerRequest(mallory.addr(), "ACK", "sip:victim@"+victim.addr(), true))
	// Retransmissions included: a relayed request would arrive within Timer E/A's first
	// intervals (0.5 s, 1 s).
	assert.NoError(t, victim.silence(2*time.Second), "the pool passed a stranger's request on")
	assert.NoError(t, mallory.silence(200*time.Millisecond), "only one answer per request")
	assert.Zero(t, l.dnsLookups(), "the simulated domain was never resolved")
}

// TestRequestsToARegisteredPhoneAreStillRelayed: the pool passes a request on to a phone
// registered on it, and its answer back.
func TestRequestsToARegisteredPhoneAreStillRelayed(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice")
	p1, _ := l.net.Pool(pool01)
	alice := l.phone("alice")
	r := newRawPeer(t)
	res := r.final(p1.Addr(), strangerRequest(r.addr(), "MESSAGE", "sip:alice@"+alice.Addr(), false))
	require.NotNil(t, res)
	assert.Equal(t, 405, res.StatusCode, "alice's phone answered (it takes no MESSAGE), through the pool")
	assert.Empty(t, res.GetHeader("Warning"), "the answer is the phone's, not the pool's")
}

// TestResolverRefusesAndCounts checks the refusing resolver itself: a UA built with it
// cannot reach a name, and the attempt is counted. (A test that the count stays at zero
// means something only if it can rise.)
func TestResolverRefusesAndCounts(t *testing.T) {
	var lookups atomic.Uint64
	ua, err := sipgo.NewUA(siputil.NoDNS(&lookups))
	require.NoError(t, err)
	t.Cleanup(func() { ua.Close() })
	cli, err := sipgo.NewClient(ua)
	require.NoError(t, err)
	req := gosip.NewRequest(gosip.OPTIONS, gosip.Uri{Scheme: "sip", User: "x", Host: "pool01.contoso.invalid"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = cli.Do(ctx, req)
	require.Error(t, err)
	assert.NotZero(t, lookups.Load(), "the lookup reached the resolver and was refused")
}

// TestPoolsNeverResolveNames runs the RFC 4475 torture messages and name-addressed
// requests against the pools, over UDP and TCP: the resolver is never called.
func TestPoolsNeverResolveNames(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob")
	p1, _ := l.net.Pool(pool01)
	r := newRawPeer(t)
	for name, msg := range tortureMessages(t) {
		r.send(p1.Addr(), string(msg))
		_ = name
	}
	for _, m := range []string{"MESSAGE", "BYE", "OPTIONS", "INVITE", "REGISTER"} {
		r.send(p1.Addr(), strangerRequest(r.addr(), m, "sip:dave@contoso.com", m == "BYE")) // dave is not registered
		tcpSend(t, p1.Addr(), strings.ReplaceAll(strangerRequest(r.addr(), m, "sip:carol@pool02.contoso.com", m == "BYE"),
			"SIP/2.0/UDP "+r.addr(), "SIP/2.0/TCP phone.contoso.com:5060"))
	}
	time.Sleep(500 * time.Millisecond)
	l.connect("alice", "bob")
	assert.Zero(t, l.dnsLookups(), "a pool or phone tried to resolve a name")
	assert.Zero(t, l.handlerPanics())
}

// tortureMessages returns RFC 4475's torture messages as sipgo ships them
// (sip/testdata/torture in its module), by file name.
func tortureMessages(t testing.TB) map[string][]byte {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/emiago/sipgo").Output()
	require.NoError(t, err, "locating sipgo's module")
	dir := filepath.Join(strings.TrimSpace(string(out)), "sip", "testdata", "torture")
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.dat"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no torture messages in %s", dir)
	msgs := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		msgs[filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f)] = data
	}
	return msgs
}

// TestAContactNamingAHostIsNeverResolved: a caller whose Contact names a host calls bob
// through the pool. The pool replaces the name by the caller's address, so bob's BYE
// reaches the caller without anyone resolving the name.
func TestAContactNamingAHostIsNeverResolved(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("bob")
	l.phone("bob").SetAutoAnswer(true)
	p1, _ := l.net.Pool(pool01)
	caller := newRawPeer(t)
	invite := rawMsg(caller.addr(), "INVITE sip:bob@contoso.com SIP/2.0", tinySDP("127.0.0.1"),
		"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:ext@example.org>;tag=n1",
		"To: <sip:bob@contoso.com>", "Call-ID: named-contact", "CSeq: 1 INVITE",
		"Contact: <sip:ext@caller.example.com:5060>", "Max-Forwards: 70", "Content-Type: application/sdp")
	ok := caller.final(p1.Addr(), invite)
	require.NotNil(t, ok)
	require.Equal(t, 200, ok.StatusCode)
	ack := gosip.NewRequest(gosip.ACK, ok.Contact().Address)
	ack.AppendHeader(gosip.NewHeader("Via", "SIP/2.0/UDP "+caller.addr()+";branch=z9hG4bK-ack1"))
	ack.AppendHeader(gosip.HeaderClone(ok.From()))
	ack.AppendHeader(gosip.HeaderClone(ok.To()))
	ack.AppendHeader(gosip.HeaderClone(ok.CallID()))
	ack.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.ACK})
	ack.SetBody(nil)
	caller.send(ok.Contact().Address.HostPort(), ack.String())

	calls := l.phone("bob").Calls()
	require.Len(t, calls, 1)
	_, err := calls[0].WaitState(ctx(t), phone.Established)
	require.NoError(t, err)
	hungUp := make(chan error, 1)
	go func() { hungUp <- calls[0].Hangup(ctx(t)) }()
	bye, _ := caller.next(3 * time.Second).(*gosip.Request)
	require.NotNil(t, bye, "bob's BYE reached the caller's address")
	assert.Equal(t, gosip.BYE, bye.Method)
	caller.send(l.phone("bob").Addr(), gosip.NewResponseFromRequest(bye, 200, "OK", nil).String())
	require.NoError(t, <-hungUp)
	assert.Zero(t, l.dnsLookups(), "nobody resolved caller.example.com")
}

// TestAStrayCancelIsAnswered481: a CANCEL that matches no transaction (RFC 3261 9.2).
func TestAStrayCancelIsAnswered481(t *testing.T) {
	l := newLab(t, labTopology())
	p1, _ := l.net.Pool(pool01)
	r := newRawPeer(t)
	res := r.final(p1.Addr(), rawMsg(r.addr(), "CANCEL sip:bob@contoso.com SIP/2.0", "",
		"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:x@example.org>;tag=1", "To: <sip:bob@contoso.com>",
		"Call-ID: stray-cancel", "CSeq: 1 CANCEL", "Max-Forwards: 70"))
	require.NotNil(t, res)
	assert.Equal(t, 481, res.StatusCode)
}
