package topology

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
)

// The park admission rules (SPEC sections 4 and 5): who may park, and which pool parks.
func TestAdmitPark(t *testing.T) {
	alice, dave := park.Party{User: "alice"}, park.Party{User: "dave"}
	tests := []struct {
		name     string
		mutate   func(*Topology)
		state    *state // pool01's state, when not normal/up
		at       time.Duration
		pool     string
		parker   park.Party
		fromPeer bool
		media    netip.Addr // the offer's music on hold address; the source is 192.0.2.7
		offerErr error
		kind     ParkKind
		target   string // ParkElsewhere
		code     int
		diag     int
		warning  string
	}{
		{name: "parker served here parks here", pool: pool01, parker: alice, kind: ParkHere},
		{name: "parker served by the other pool: sent there", pool: pool01, parker: dave, kind: ParkElsewhere, target: pool02},
		{name: "sent on by a peer to a pool that does not serve the parker", pool: pool01, parker: dave, fromPeer: true,
			code: 403, warning: "served by pool02.contoso.com, not pool01.contoso.com"},
		{name: "outside parker", pool: pool01, parker: park.Party{Addr: "192.0.2.1:5060", Name: "sip:x@fabrikam.com"},
			code: 403, diag: DiagNoConversation, warning: "sip:x@fabrikam.com, is from outside the enterprise"},
		{name: "unknown parker", pool: pool01, parker: park.Party{User: "zed"}, code: 403, diag: DiagNoConversation, warning: "not a user"},
		{name: "Call Park application disabled", mutate: func(t *Topology) { t.Pools[0].CPSDisabled = true },
			pool: pool01, parker: alice, code: 503, diag: DiagCannotForward, warning: "disabled"},
		{name: "parker signed out (registrar failover timer running)", state: &state{Outage, false}, pool: pool02, parker: alice,
			code: 480, warning: "signed out"},
		{name: "parker in resiliency mode", state: &state{Outage, false}, at: 10 * time.Minute, pool: pool02, parker: alice,
			code: 480, warning: "resiliency mode"},
		{name: "parker failing over", state: &state{FailingOver, false}, pool: pool02, parker: alice, code: 480, warning: "resiliency mode"},
		{name: "after failover the backup parks", state: &state{FailedOver, false}, pool: pool02, parker: alice, kind: ParkHere},
		{name: "after failover, sent to the backup", state: &state{FailedOver, false}, pool: pool01, parker: alice,
			kind: ParkElsewhere, target: pool02},
		{name: "during failback", state: &state{FailingBack, true}, pool: pool01, parker: alice, code: 480, warning: "resiliency mode"},
		{name: "unreadable offer", pool: pool01, parker: alice, offerErr: errors.New("no audio"), code: 488, warning: "no audio"},
		{name: "music on hold asked for elsewhere", pool: pool01, parker: alice, media: netip.MustParseAddr("198.51.100.9"),
			code: 488, warning: "music on hold goes only to the parkee's own address"},
		{name: "a peer pool checked the media", pool: pool01, parker: alice, fromPeer: true, media: netip.MustParseAddr("198.51.100.9"),
			kind: ParkHere},
		{name: "who parks is decided before the offer is read", pool: pool01, parker: park.Party{User: "zed"},
			offerErr: errors.New("no audio"), code: 403, diag: DiagNoConversation, warning: "not a user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mutate []func(*Topology)
			if tc.mutate != nil {
				mutate = append(mutate, tc.mutate)
			}
			d := newDeployment(t, mutate...)
			if tc.state != nil {
				drive(t, d, pool01, *tc.state)
			}
			source := netip.MustParseAddr("192.0.2.7")
			media := tc.media
			if !media.IsValid() {
				media = source
			}
			a := d.AdmitPark(tc.pool, ParkRequest{Parker: tc.parker, FromPeer: tc.fromPeer, Media: media, Source: source, OfferErr: tc.offerErr},
				at(tc.at))
			if tc.code != 0 {
				require.Equal(t, ParkRefused, a.Kind)
				assert.Equal(t, tc.code, a.Reject.Code)
				assert.Equal(t, tc.diag, a.Reject.Diagnostic)
				assert.Contains(t, a.Reject.Warning, tc.warning)
				return
			}
			require.Nil(t, a.Reject)
			assert.Equal(t, tc.kind, a.Kind)
			assert.Equal(t, tc.target, a.Pool)
			if tc.kind == ParkHere {
				assert.NotEmpty(t, a.Orbits)
				want := "7000"
				if tc.pool == pool02 {
					want = "8000"
				}
				assert.Equal(t, want, a.Orbits[0], "the parking pool's own CallPark ranges")
			}
		})
	}
}

func TestParkRefusals(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		diag int
	}{
		{fmt.Errorf("x: %w", park.ErrNoFreeOrbit), 480, DiagNoFreeOrbit},
		{fmt.Errorf("x: %w", park.ErrDoublePark), 486, DiagDoublePark},
		{fmt.Errorf("x: %w", park.ErrOrbitEmpty), 404, DiagOrbitNotFound},
		{errors.New("anything else"), 500, DiagGeneralError},
	} {
		r := ParkLotRefusal(tc.err)
		assert.Equal(t, tc.code, r.Code, "%v", tc.err)
		assert.Equal(t, tc.diag, r.Diagnostic, "%v", tc.err)
	}
	r := NoConversationToPark(park.ErrNoConversation)
	assert.Equal(t, 403, r.Code)
	assert.Equal(t, "No valid conversation to park a call", DiagnosticText[r.Diagnostic])
	r = ParkThrottled("192.0.2.1:5060", 5, 2*time.Second)
	assert.Equal(t, 503, r.Code)
	assert.Equal(t, 2*time.Second, r.RetryAfter)
	r = MusicOnHoldElsewhere(netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("192.0.2.1"))
	assert.Equal(t, 488, r.Code)
	assert.Contains(t, r.Warning, "192.0.2.9")
}
