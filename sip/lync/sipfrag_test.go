package lync

import (
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/topology"
)

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
