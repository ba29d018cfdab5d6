package sip

import (
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// registerMsg registers user from me over transport ("UDP" or "TCP").
func registerMsg(me, transport, user string) string {
	return rawMsg(me, "REGISTER sip:contoso.com SIP/2.0", "",
		"Via: SIP/2.0/"+transport+" {me};branch={branch};rport", "From: <sip:"+user+"@contoso.com>;tag=r1",
		"To: <sip:"+user+"@contoso.com>", "Call-ID: reg-"+gosip.GenerateTagN(8), "CSeq: 1 REGISTER",
		"Contact: <sip:"+user+"@{me};transport="+transport+">", "Expires: 600", "Max-Forwards: 70")
}

// pickupMsg dials number as user from me over transport.
func pickupMsg(me, transport, user, number string) string {
	return rawMsg(me, "INVITE sip:"+number+"@contoso.com SIP/2.0", tinySDP("127.0.0.1"),
		"Via: SIP/2.0/"+transport+" {me};branch={branch};rport", "From: <sip:"+user+"@contoso.com>;tag=c1",
		"To: <sip:"+number+"@contoso.com>", "Call-ID: pick-"+gosip.GenerateTagN(8), "CSeq: 1 INVITE",
		"Contact: <sip:"+user+"@{me};transport="+transport+">", "Max-Forwards: 70", "Content-Type: application/sdp")
}

// outsider asserts res is the refusal of a caller from outside the enterprise.
func outsider(t *testing.T, res *gosip.Response, what string) {
	t.Helper()
	require.NotNil(t, res, "%s: no answer", what)
	assert.Equal(t, 403, res.StatusCode, what)
	assert.Equal(t, topology.DiagOutsideEnterprise, lync.OutcomeOf(res).Diagnostic, what)
}

// insider asserts res is the answer a colleague gets when nothing rings in the group.
func insider(t *testing.T, res *gosip.Response, what string) {
	t.Helper()
	require.NotNil(t, res, "%s: no answer", what)
	assert.Equal(t, 404, res.StatusCode, what)
	assert.Equal(t, topology.DiagOrbitNotFound, lync.OutcomeOf(res).Diagnostic, what)
}

// TestIdentityIsTheTransportAddressAndConnection: a local process on another port, or
// another TCP connection from the same host, calling as a registered user is a caller
// from outside the enterprise, whichever transport the user registered over.
func TestIdentityIsTheTransportAddressAndConnection(t *testing.T) {
	t.Run("registered over UDP", func(t *testing.T) {
		l := newLab(t, labTopology())
		l.registerAll("carol")
		p1, _ := l.net.Pool(pool01)
		insider(t, finalOf(t, l, "carol", "100"), "carol's own phone")

		spoofTCP := newTCPPeer(t, p1.Addr())
		outsider(t, spoofTCP.final(pickupMsg(spoofTCP.addr(), "TCP", "carol", "100")), "carol over TCP from another process")
		spoofUDP := newRawPeer(t)
		outsider(t, spoofUDP.final(p1.Addr(), pickupMsg(spoofUDP.addr(), "UDP", "carol", "100")), "carol over UDP from another port")
	})
	t.Run("registered over TCP", func(t *testing.T) {
		l := newLab(t, labTopology())
		p1, _ := l.net.Pool(pool01)
		carol := newTCPPeer(t, p1.Addr())
		res := carol.final(registerMsg(carol.addr(), "TCP", "carol"))
		require.NotNil(t, res)
		require.Equal(t, 200, res.StatusCode)
		insider(t, carol.final(pickupMsg(carol.addr(), "TCP", "carol", "100")), "carol on the connection she registered on")

		other := newTCPPeer(t, p1.Addr())
		outsider(t, other.final(pickupMsg(other.addr(), "TCP", "carol", "100")), "carol on a new TCP connection from the same host")
		spoofUDP := newRawPeer(t)
		outsider(t, spoofUDP.final(p1.Addr(), pickupMsg(spoofUDP.addr(), "UDP", "carol", "100")), "carol over UDP")
		// The same address over UDP is not the TCP connection either.
		outsider(t, spoofUDP.final(p1.Addr(), pickupMsg(carol.addr(), "UDP", "carol", "100")), "carol over UDP naming her TCP address")
	})
}

// finalOf dials number from user's phone and returns the pool's final answer.
func finalOf(t *testing.T, l *lab, user, number string) *gosip.Response {
	t.Helper()
	o := l.dialFails(user, number)
	res := gosip.NewResponse(o.Code, o.Reason)
	if o.Diagnostic != 0 {
		res.AppendHeader(lync.Diagnostics(o.Diagnostic, "test"))
	}
	return res
}

// TestAssertedIdentityIsTrustedOnlyFromPools: P-Asserted-Identity from anyone but a peer
// pool on an authenticated path is ignored.
func TestAssertedIdentityIsTrustedOnlyFromPools(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("carol")
	p1, _ := l.net.Pool(pool01)
	withPAI := func(me, transport string) string {
		msg := pickupMsg(me, transport, "mallory", "100")
		return strings.Replace(msg, "Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nP-Asserted-Identity: <sip:carol@contoso.com>\r\n", 1)
	}
	u := newRawPeer(t)
	outsider(t, u.final(p1.Addr(), withPAI(u.addr(), "UDP")), "P-Asserted-Identity over UDP from a phone's port")
	c := newTCPPeer(t, p1.Addr())
	outsider(t, c.final(withPAI(c.addr(), "TCP")), "P-Asserted-Identity over TCP from another process")
}
