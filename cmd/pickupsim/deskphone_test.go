package main

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// metricsText fetches serve's Prometheus metrics.
func metricsText(t *testing.T, adminURL string) string {
	t.Helper()
	res, err := http.Get(adminURL + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(data)
}

// What desk phones send besides calls, answered as they expect, with SIPp as the phone:
// the message-waiting subscription (RFC 3842) with its refresh and unsubscribe, a presence
// subscription (RFC 3856), a package the pools do not serve refused once with 489 and
// Allow-Events (no retry storm), and OPTIONS keep-alives.
func TestSIPpDeskPhoneSubscriptionsAndKeepAlives(t *testing.T) {
	bin := requireTool(t, "sipp", "sip-tester")
	s, _, logs := startServe(t, labForTests)
	p1, _ := s.Network.Pool("pool01.contoso.com")
	ports := freePorts(t, 4)
	alice := sippPhone{"alice", ports[0], ports[1]}
	bob := sippPhone{"bob", ports[2], ports[3]}
	for _, ph := range []sippPhone{alice, bob} {
		sipp(t, bin, "register.xml", ph, p1.Addr(), "").wait(t, ph.user+" registers")
	}
	sipp(t, bin, "subscribe-mwi.xml", alice, p1.Addr(), "").wait(t, "alice's message-waiting subscription, refresh and unsubscribe")
	sipp(t, bin, "subscribe-presence.xml", alice, p1.Addr(), "bob").wait(t, "alice watches bob's presence")
	sipp(t, bin, "subscribe-unknown.xml", alice, p1.Addr(), "bob").wait(t, "a subscription to a package the pools do not serve refused with 489")
	sipp(t, bin, "options-keepalive.xml", alice, p1.Addr(), "").wait(t, "alice's OPTIONS keep-alives")

	m := metricsText(t, s.AdminURL)
	assert.Contains(t, m, `pickupsim_sip_responses_total{code="200",method="SUBSCRIBE",pool="pool01.contoso.com"} 4`)
	assert.Contains(t, m, `pickupsim_sip_responses_total{code="489",method="SUBSCRIBE",pool="pool01.contoso.com"} 1`)
	assert.NotContains(t, logs.String(), "handler not found", "every method phones send has a handler")
	assert.NotContains(t, logs.String(), `"level":"ERROR"`)
}

// A registration refresh (same Call-ID, CSeq + 1, before expiry) keeps the binding; a
// stale CSeq is refused; without a further refresh the binding expires.
func TestSIPpRegistrationRefreshAndExpiry(t *testing.T) {
	bin := requireTool(t, "sipp", "sip-tester")
	s, _, _ := startServe(t, labForTests)
	p1, _ := s.Network.Pool("pool01.contoso.com")
	ports := freePorts(t, 2)
	alice := sippPhone{"alice", ports[0], ports[1]}
	start := time.Now()
	sipp(t, bin, "register-refresh.xml", alice, p1.Addr(), "").wait(t, "alice registers, refreshes, and a stale REGISTER is refused")
	b := p1.Bindings()
	require.Len(t, b, 1, "one binding, refreshed, not duplicated")
	assert.Equal(t, "alice", b[0].User)
	assert.WithinDuration(t, start.Add(3*time.Second), b[0].Expires, 900*time.Millisecond,
		"the refresh (1 s in, Expires 2) set the expiry; the stale REGISTER (Expires 3600) did not")
	eventually(t, "alice's registration to expire", func() bool { return len(p1.Bindings()) == 0 })
}

// Attended transfer works phone to phone: the transferee's INVITE with Replaces and
// Referred-By reaches the target through the pool untouched. An INVITE with Replaces
// addressed to the Call Park application itself is refused cleanly (403, a Warning).
func TestSIPpAttendedTransferPassesReplacesPhoneToPhone(t *testing.T) {
	bin := requireTool(t, "sipp", "sip-tester")
	s, _, _ := startServe(t, labForTests)
	p1, _ := s.Network.Pool("pool01.contoso.com")
	ports := freePorts(t, 4)
	bob := sippPhone{"bob", ports[0], ports[1]}
	carol := sippPhone{"carol", ports[2], ports[3]}
	for _, ph := range []sippPhone{bob, carol} {
		sipp(t, bin, "register.xml", ph, p1.Addr(), "").wait(t, ph.user+" registers")
	}
	target := sipp(t, bin, "xfer-target.xml", carol, "", "")
	waitBound(t, carol.port)
	sipp(t, bin, "xfer-transferee.xml", bob, p1.Addr(), "carol").wait(t, "bob, the transferee, calls carol with Replaces")
	target.wait(t, "carol, the target, got Replaces and Referred-By intact")

	sipp(t, bin, "replaces-cps.xml", bob, p1.Addr(), "").wait(t, "Replaces towards the Call Park application refused with 403")
}
