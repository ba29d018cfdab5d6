package lync

import (
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/topology"
)

// What the pools write, the phones read: a named refusal sent with Response comes back
// from OutcomeOf with its status, Warning text, ms-diagnostics code and Retry-After.
func TestAResponseReadsBackAsItsOutcome(t *testing.T) {
	req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", User: "7000", Host: "contoso.com"})
	req.AppendHeader(&gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", User: "carol", Host: "contoso.com"}})
	req.AppendHeader(&gosip.ToHeader{Address: req.Recipient})
	cid := gosip.CallIDHeader("c1")
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.INVITE})
	req.AppendHeader(&gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5060, Params: gosip.HeaderParams{{K: "branch", V: "z9hG4bK1"}}})

	for _, r := range []*topology.Rejection{
		topology.OrbitFromOutside("CallPark", "7000"),
		topology.ParkThrottled("192.0.2.1:5060", 5, 1500*time.Millisecond),
		topology.UnknownNumber(`say "zed"`, "contoso.com"),
	} {
		res := Response(req, r, "pool01.contoso.com")
		o := OutcomeOf(res)
		assert.Equal(t, r.Code, o.Code)
		assert.Equal(t, r.Reason, o.Reason)
		assert.Equal(t, r.Diagnostic, o.Diagnostic)
		assert.Equal(t, (r.RetryAfter+time.Second-1)/time.Second*time.Second, o.RetryAfter, "Retry-After in whole seconds, rounded up")
		want := r.Warning
		if want == `say "zed" is neither a user nor an orbit of domain contoso.com` {
			want = `say 'zed' is neither a user nor an orbit of domain contoso.com` // a Warning's text is quoted
		}
		assert.Equal(t, want, o.Warning)
		if r.Diagnostic != 0 {
			require.NotNil(t, res.GetHeader(HeaderDiagnostics))
			assert.Contains(t, res.GetHeader(HeaderDiagnostics).Value(), topology.DiagnosticText[r.Diagnostic])
		}
	}
}

// presence-state tells a phone whether its registrar is its primary ([MS-SIPREGE] 2.2.1.5).
func TestPresenceStateReadsBack(t *testing.T) {
	for mode, connected := range map[topology.Mode]bool{topology.NormalMode: true, topology.Resiliency: false} {
		res := gosip.NewResponse(200, "OK")
		res.AppendHeader(PresenceState(mode))
		got, ok := ConnectedToPrimary(res)
		require.True(t, ok)
		assert.Equal(t, connected, got, mode.String())
	}
	_, ok := ConnectedToPrimary(gosip.NewResponse(200, "OK"))
	assert.False(t, ok, "no presence-state: nothing said")
}

func TestUserOf(t *testing.T) {
	assert.Equal(t, "bob", UserOf(gosip.NewHeader(HeaderAssertedIdentity, `"Bob" <sip:bob@contoso.com>`)))
	assert.Equal(t, "bob", UserOf(gosip.NewHeader(HeaderAssertedIdentity, "sip:bob@contoso.com")))
	assert.Equal(t, "", UserOf(nil))
}

// What a transferee writes in its NOTIFY, the transferor reads back: a park that landed
// with its orbit, a refused one with its Warning and ms-diagnostics.
func TestASipfragReadsBack(t *testing.T) {
	refused := topology.OrbitFromOutside("CallPark", "7000")
	for _, f := range []Sipfrag{
		{Outcome: Outcome{Code: 200, Reason: "OK"}, ParkOrbit: "7001"},
		{Outcome: Outcome{Code: refused.Code, Reason: refused.Reason, Warning: refused.Warning, Diagnostic: refused.Diagnostic}},
		{Outcome: Outcome{Code: 487, Reason: "Request Terminated"}},
	} {
		got, err := ParseSipfrag([]byte(f.Render("bob")))
		require.NoError(t, err)
		assert.Equal(t, f, got)
	}
	for _, bad := range []string{"", "hello\r\n", "SIP/2.0 abc OK\r\n"} {
		_, err := ParseSipfrag([]byte(bad))
		assert.Error(t, err, "%q is not a sipfrag", bad)
	}
}

// RFC 3261 20.33: a Retry-After may carry a comment and parameters after its seconds.
func TestRetryAfterWithCommentAndParameters(t *testing.T) {
	for _, v := range []string{"120", "120;duration=3600", "120 (I'm in a meeting)", " 120 "} {
		res := gosip.NewResponse(503, "Service Unavailable")
		res.AppendHeader(gosip.NewHeader("Retry-After", v))
		assert.Equal(t, 120*time.Second, OutcomeOf(res).RetryAfter, v)
	}
}
