package sip

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/media"
	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Who may park (issue 10.3) and parking with any phone (issue 11.1): the parker is the
// other party of the parkee's conversation the pools proxied, never a header.

// sendPark sends an INVITE for uri from ph's own SIP socket, through its outbound proxy,
// with an SDP offer whose media address is media and extra headers, and returns the
// final response. It is how a hand-crafted park request looks on the wire.
func sendPark(t *testing.T, ph *phone.Phone, uri string, media netip.AddrPort, extra ...gosip.Header) *gosip.Response {
	t.Helper()
	var u gosip.Uri
	require.NoError(t, gosip.ParseUri(uri, &u))
	req := gosip.NewRequest(gosip.INVITE, u)
	aor := gosip.Uri{Scheme: "sip", User: ph.User(), Host: ph.Domain()}
	req.AppendHeader(&gosip.FromHeader{Address: aor, Params: gosip.HeaderParams{{K: "tag", V: gosip.GenerateTagN(10)}}})
	req.AppendHeader(&gosip.ToHeader{Address: u})
	req.AppendHeader(&gosip.ContactHeader{Address: ph.Contact()})
	cid := gosip.CallIDHeader(fmt.Sprintf("crafted-%d", time.Now().UnixNano()))
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.INVITE})
	for _, h := range extra {
		req.AppendHeader(h)
	}
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(mediaOffer(media))
	req.SetDestination(ph.OutboundProxy())
	res, err := ph.Send(ctx(t), req)
	require.NoError(t, err)
	return res
}

// unregisteredPhone is a phone that never registers and sends through pool01: a caller from
// outside the enterprise (domain fabrikam.com) arriving through a gateway, or an impostor
// using a user's name.
func unregisteredPhone(t *testing.T, l *lab, user, domain string) *phone.Phone {
	t.Helper()
	p1, _ := l.net.Pool(pool01)
	ph, err := phone.New(phone.Config{User: user, Domain: domain, Registrars: []string{p1.Addr()}})
	require.NoError(t, err)
	t.Cleanup(ph.Close)
	return ph
}

func mediaOffer(addr netip.AddrPort) []byte { return media.Offer(addr, 1) }

// listenVictim opens an RTP socket that nobody should ever stream to.
func listenVictim(t *testing.T) *media.Stream {
	t.Helper()
	s, err := media.Listen("127.0.0.1")
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func diagnosticOf(res *gosip.Response) int { return lync.OutcomeOf(res).Diagnostic }

// A phone that blind-transfers like baresip (no Referred-By, no headers copied from the
// Refer-To URI, the park URI in the enterprise domain) parks: the pool finds the parker.
func TestParkWithoutHintsToTheDomain(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("alice", "dave", "carol")
	aliceLeg, _ := l.connect("alice", "dave")
	orbit, err := l.phone("alice").Park(ctx(t), aliceLeg, phone.ParkTo("sip:park@contoso.com"), phone.ParkWithoutHints())
	require.NoError(t, err)
	assert.Equal(t, "7000", orbit, "the 200 to the parkee names the orbit; the parkee relays it")
	p1, _ := l.net.Pool(pool01)
	require.Len(t, p1.ParkedCalls(), 1)
	assert.Equal(t, "alice", p1.ParkedCalls()[0].Parker, "found from the conversation pool01 proxied")
	assert.Equal(t, "dave", p1.ParkedCalls()[0].Parkee)
	parked := l.parkedLeg("dave")
	waitPackets(t, parked, 5) // music on hold

	got, err := l.phone("carol").Dial(orbit)
	require.NoError(t, err)
	l.established(got)
	assert.Equal(t, "dave", got.Remote())
	mediaFlows(t, got, parked, 10)
}

// The parker and the parkee are on different pools; the park goes through the parkee's
// pool to the parker's, which parks on its own range.
func TestParkAcrossPools(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		caller, callee, parker string
		opts                   []phone.ParkOption
		pool, orbit            string
	}{
		{"pool02's erin parks pool01's alice, with hints", "erin", "alice", "erin", nil, pool02, "8000"},
		{"pool02's erin parks pool01's alice, no hints, sip:park@domain", "alice", "erin", "erin",
			[]phone.ParkOption{phone.ParkTo("sip:park@contoso.com"), phone.ParkWithoutHints()}, pool02, "8000"},
		{"pool01's alice parks pool02's frank, no hints", "frank", "alice", "alice",
			[]phone.ParkOption{phone.ParkTo("sip:park@contoso.com"), phone.ParkWithoutHints()}, pool01, "7000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newParkLab(t, nil)
			l.registerAll("alice", "erin", "frank", "carol")
			out, in := l.connect(tc.caller, tc.callee)
			leg, parkee := out, tc.callee
			if tc.parker == tc.callee {
				leg, parkee = in, tc.caller
			}
			orbit, err := l.phone(tc.parker).Park(ctx(t), leg, tc.opts...)
			require.NoError(t, err)
			assert.Equal(t, tc.orbit, orbit, "the parker's pool parks, on its own CallPark range")
			p, _ := l.net.Pool(tc.pool)
			require.Len(t, p.ParkedCalls(), 1)
			assert.Equal(t, tc.parker, p.ParkedCalls()[0].Parker)
			assert.Equal(t, parkee, p.ParkedCalls()[0].Parkee)

			got, err := l.phone("carol").Dial(orbit)
			require.NoError(t, err)
			l.established(got)
			assert.Equal(t, parkee, got.Remote())
			mediaFlows(t, got, l.parkedLeg(parkee), 10)
		})
	}
}

// Receptionists park callers from outside the enterprise, on their pool or through a
// peer pool; the outside caller can neither retrieve nor pick up.
func TestParkAnOutsideCaller(t *testing.T) {
	for _, tc := range []struct {
		callee, pool, orbit string
	}{{"alice", pool01, "7000"}, {"frank", pool02, "8000"}} {
		t.Run(tc.callee, func(t *testing.T) {
			l := newParkLab(t, nil)
			l.registerAll("alice", "bob", "frank", "carol")
			// The gateway of the PSTN sends to pool01, whoever is called.
			mallory := unregisteredPhone(t, l, "mallory", "fabrikam.com")
			out, err := mallory.Dial(tc.callee)
			require.NoError(t, err)
			in, err := l.phone(tc.callee).NextIncoming(ctx(t))
			require.NoError(t, err)
			require.NoError(t, in.Answer())
			l.established(out, in)

			orbit, err := l.phone(tc.callee).Park(ctx(t), in, phone.ParkTo("sip:park@contoso.com"), phone.ParkWithoutHints())
			require.NoError(t, err)
			assert.Equal(t, tc.orbit, orbit)
			p, _ := l.net.Pool(tc.pool)
			require.Len(t, p.ParkedCalls(), 1)
			assert.Equal(t, tc.callee, p.ParkedCalls()[0].Parker)
			assert.Equal(t, "sip:mallory@fabrikam.com", p.ParkedCalls()[0].Parkee)

			// Outside callers can neither retrieve nor pick up.
			c, err := mallory.Dial(orbit)
			require.NoError(t, err)
			_, err = c.WaitState(ctx(t), phone.Failed)
			require.NoError(t, err)
			assert.Equal(t, 403, c.Outcome().Code)
			assert.Equal(t, topology.DiagOutsideEnterprise, c.Outcome().Diagnostic)
			l.ring("carol", "bob")
			c, err = mallory.Dial("100")
			require.NoError(t, err)
			_, err = c.WaitState(ctx(t), phone.Failed)
			require.NoError(t, err)
			assert.Equal(t, 403, c.Outcome().Code)

			got, err := l.phone("carol").Dial(orbit)
			require.NoError(t, err)
			l.established(got)
			parked := mallory.Calls()[1]
			require.Equal(t, lync.ParkUser, parked.Dialled)
			mediaFlows(t, got, parked, 10)
		})
	}
}

// A caller from outside cannot park the enterprise user it talks to: only enterprise
// users park. The call stays up.
func TestOutsiderCannotParkItsCallee(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("alice")
	p1, _ := l.net.Pool(pool01)
	mallory := unregisteredPhone(t, l, "mallory", "fabrikam.com")
	out, err := mallory.Dial("alice")
	require.NoError(t, err)
	in, err := l.phone("alice").NextIncoming(ctx(t))
	require.NoError(t, err)
	require.NoError(t, in.Answer())
	l.established(out, in)
	_, err = mallory.Park(ctx(t), out, phone.ParkTo("sip:park@contoso.com"))
	var pe *phone.ParkError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 403, pe.Outcome.Code)
	assert.Contains(t, pe.Outcome.Warning, "outside the enterprise")
	assert.Equal(t, phone.Established, out.State())
	assert.Empty(t, p1.ParkedCalls())
}

// A user parks only the other party of a call the pools set up: dialling the park URI
// with no call is refused with 35016, and so is a hint naming someone else's call.
func TestParkNeedsAConversation(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("alice", "bob", "dave")
	aliceLeg, _ := l.connect("alice", "dave")
	p1, _ := l.net.Pool(pool01)
	me := netip.MustParseAddrPort("127.0.0.1:40000")

	res := sendPark(t, l.phone("bob"), "sip:park@contoso.com", me)
	assert.Equal(t, 403, res.StatusCode, "bob has no call")
	assert.Equal(t, topology.DiagNoConversation, diagnosticOf(res))
	assert.Contains(t, lync.OutcomeOf(res).Warning, "no answered call of bob")

	res = sendPark(t, l.phone("bob"), "sip:park@contoso.com", me,
		gosip.NewHeader(lync.HeaderParkedCall, aliceLeg.ID), gosip.NewHeader("Referred-By", "<sip:alice@contoso.com>"))
	assert.Equal(t, 403, res.StatusCode, "bob is not a party of alice's call")
	assert.Equal(t, topology.DiagNoConversation, diagnosticOf(res))

	res = sendPark(t, l.phone("dave"), "sip:park@contoso.com", me, gosip.NewHeader("Referred-By", "<sip:bob@contoso.com>"))
	assert.Equal(t, 403, res.StatusCode, "dave talks to alice, not bob")
	assert.Contains(t, lync.OutcomeOf(res).Warning, "none with parker bob")
	assert.Empty(t, p1.ParkedCalls())
}

// parkLabWithPasswords is the park lab where alice has a password.
func parkLabWithPasswords(t *testing.T) *lab {
	topo := labTopology()
	topo.Orbits = append(topo.Orbits, park.OrbitRange{Identity: "park-pool02", NumberRangeStart: "8000", NumberRangeEnd: "8001", CallParkService: pool02})
	for i := range topo.Users {
		if topo.Users[i].Name == "alice" {
			topo.Users[i].Password = "s3cret"
		}
	}
	return newLab(t, topo)
}

// Issue 10.3: an outsider parked 100 calls "as" a password-protected user by writing
// Referred-By, filled the orbits and had music on hold streamed where it chose. Now each
// such request is refused, takes no orbit and streams nothing, and a legitimate park
// still gets the first orbit.
func TestStrangersCannotPark(t *testing.T) {
	l := parkLabWithPasswords(t)
	l.registerAll("alice", "dave")
	aliceLeg, _ := l.connect("alice", "dave")
	p1, _ := l.net.Pool(pool01)
	victim := listenVictim(t)
	stranger := unregisteredPhone(t, l, "mallory", "fabrikam.com")
	impostor := unregisteredPhone(t, l, "alice", l.net.Domain())

	codes := map[int]int{}
	for i := range 100 {
		l.clock.Advance(200 * time.Millisecond) // below the rate limit: each request is judged on its own
		callID := fmt.Sprintf("stolen-%d", i)
		if i == 0 {
			callID = aliceLeg.ID // the real conversation's Call-ID does not help either
		}
		for _, ph := range []*phone.Phone{stranger, impostor} {
			res := sendPark(t, ph, "sip:park@"+p1.Addr(), victim.LocalAddr(),
				gosip.NewHeader("Referred-By", "<sip:alice@contoso.com>"), gosip.NewHeader(lync.HeaderParkedCall, callID))
			codes[res.StatusCode]++
		}
	}
	assert.Equal(t, map[int]int{403: 100, 407: 100}, codes, "the stranger has no conversation; the impostor cannot answer alice's digest challenge")
	assert.Empty(t, p1.ParkedCalls())
	time.Sleep(100 * time.Millisecond) // music on hold runs at 50 packets a second
	assert.Zero(t, victim.Stats().Received, "music on hold went to an address an outsider chose")

	orbit, err := l.phone("alice").Park(ctx(t), aliceLeg)
	require.NoError(t, err)
	assert.Equal(t, "7000", orbit, "every orbit stayed free")
}

// Music on hold goes only to the parkee's own address: a parkee with a real conversation
// whose SDP names another host is refused.
func TestParkMusicOnHoldOnlyToTheParkee(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("alice", "dave")
	aliceLeg, _ := l.connect("alice", "dave")
	p1, _ := l.net.Pool(pool01)
	elsewhere, err := media.Listen("127.0.0.2")
	require.NoError(t, err)
	t.Cleanup(func() { elsewhere.Close() })

	res := sendPark(t, l.phone("dave"), "sip:park@contoso.com", elsewhere.LocalAddr(), gosip.NewHeader(lync.HeaderParkedCall, aliceLeg.ID))
	assert.Equal(t, 488, res.StatusCode)
	assert.Contains(t, lync.OutcomeOf(res).Warning, "music on hold goes only to the parkee's own address")
	assert.Empty(t, p1.ParkedCalls())
	time.Sleep(100 * time.Millisecond)
	assert.Zero(t, elsewhere.Stats().Received)
}

// A flood of park requests from one source is cut at the rate limit with 503 and
// Retry-After, and counted; the bucket fills again on the network's clock.
func TestParkRequestsAreRateLimitedPerSource(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("alice", "dave")
	aliceLeg, _ := l.connect("alice", "dave")
	p1, _ := l.net.Pool(pool01)
	flood := unregisteredPhone(t, l, "mallory", "fabrikam.com")
	me := netip.MustParseAddrPort("127.0.0.1:40000")

	codes := map[int]int{}
	var retry time.Duration
	for range parkLimitBurst + 10 {
		res := sendPark(t, flood, "sip:park@contoso.com", me)
		codes[res.StatusCode]++
		if res.StatusCode == 503 {
			retry = lync.OutcomeOf(res).RetryAfter
		}
	}
	assert.Equal(t, map[int]int{403: parkLimitBurst, 503: 10}, codes)
	assert.Equal(t, time.Second, retry)
	assert.EqualValues(t, 10, p1.ParkRequestsThrottled())

	// Another source is not affected, and the flood's bucket refills with time.
	_, err := l.phone("alice").Park(ctx(t), aliceLeg)
	require.NoError(t, err)
	l.clock.Advance(time.Second)
	assert.Equal(t, 403, sendPark(t, flood, "sip:park@contoso.com", me).StatusCode)
}

// The parker is found again after a failover only for calls the backup pool set up: a
// call set up by the failed pool is lost with the pool's memory (35016), and a call set
// up after failover parks on the backup's range.
func TestParkAfterFailoverNeedsACallTheBackupSetUp(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("alice", "dave")
	before, _ := l.connect("alice", "dave")
	l.outageAndTimer()
	require.NoError(t, l.net.InvokeFailOver(pool01))
	require.NoError(t, l.net.CompleteFailOver(pool01))
	l.reregister(topology.NormalMode, pool02, "alice", "dave")

	_, err := l.phone("alice").Park(ctx(t), before)
	var pe *phone.ParkError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 403, pe.Outcome.Code)
	assert.Equal(t, topology.DiagNoConversation, pe.Outcome.Diagnostic)
	assert.Equal(t, phone.Established, before.State(), "a refused park leaves the call up")

	after, _ := l.connect("alice", "dave")
	orbit, err := l.phone("alice").Park(ctx(t), after, phone.ParkTo("sip:park@contoso.com"), phone.ParkWithoutHints())
	require.NoError(t, err)
	assert.Equal(t, "8000", orbit)
}

// A conversation is parked once: the transfer that parked it ended it.
func TestAConversationIsParkedOnce(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("alice", "dave", "carol")
	aliceLeg, _ := l.connect("alice", "dave")
	orbit, err := l.phone("alice").Park(ctx(t), aliceLeg)
	require.NoError(t, err)
	got, err := l.phone("carol").Dial(orbit)
	require.NoError(t, err)
	l.established(got)

	// dave's phone follows the old REFER again, after the call left its orbit.
	reg, _ := l.phone("alice").Registrar()
	again, err := l.phone("dave").FollowRefer(parkURI(t, reg, aliceLeg.ID), "")
	require.NoError(t, err)
	_, err = again.WaitState(ctx(t), phone.Failed)
	require.NoError(t, err)
	assert.Equal(t, 403, again.Outcome().Code)
	assert.Contains(t, again.Outcome().Warning, "parked already")
}
