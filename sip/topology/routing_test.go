package topology

import (
	"fmt"
	"testing"
	"time"

	"github.com/pickupsim/pickupsim/park"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDialledStripsURIParameters(t *testing.T) {
	tests := []struct{ in, want string }{
		{"150", "150"},
		{"150;phone-context=user-default", "150"},
		{"alice;phone-context=contoso.com;user=phone", "alice"},
		{"*7001;phone-context=x", "*7001"},
		{";phone-context=x", ""},
		{"", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Dialled(tt.in), "%q", tt.in)
	}
}

func TestCallerEnterprise(t *testing.T) {
	assert.True(t, enterprise("alice").Enterprise())
	assert.False(t, outsider.Enterprise())
}

// orbitRoute is the Route to a number of a range.
func orbitRoute(d *Deployment, kind RouteKind, pool, number, identity string) Route {
	r, _ := d.Orbit(identity)
	return Route{Kind: kind, Pool: pool, Number: number, Range: r}
}

// Rule (SPEC section 2): a dialled number that falls in an orbit range is routed to the
// range's CallParkService pool, before any user routing, whichever pool the caller is on;
// the owner's Call Park application answers it (pickup or retrieval).
func TestRuleOrbitNumbersRoutedToTheOwningPool(t *testing.T) {
	d := newDeployment(t)
	tests := []struct {
		name    string
		pool    string
		caller  string
		dialled string
		want    Route
	}{
		{"group pickup at its owner", pool01, "alice", "150", orbitRoute(d, ToPickup, "", "150", rangePickup01)},
		{"group pickup, non-member at its owner", pool01, "carol", "199", orbitRoute(d, ToPickup, "", "199", rangePickup01)},
		{"group pickup from the other pool's user, forwarded to the owner", pool01, "dave", "100", orbitRoute(d, ToPickup, "", "100", rangePickup01)},
		{"group pickup at another pool goes to the owner", pool02, "dave", "150", orbitRoute(d, ToPool, pool01, "150", rangePickup01)},
		{"other group at another pool", pool01, "alice", "250", orbitRoute(d, ToPool, pool02, "250", rangePickup02)},
		{"other group at its owner", pool02, "alice", "250", orbitRoute(d, ToPickup, "", "250", rangePickup02)},
		{"park orbit at its owner", pool01, "bob", "7050", orbitRoute(d, ToOrbit, "", "7050", rangePark01)},
		{"park orbit at another pool", pool02, "erin", "7099", orbitRoute(d, ToPool, pool01, "7099", rangePark01)},
		{"park orbit of pool02", pool02, "alice", "8000", orbitRoute(d, ToOrbit, "", "8000", rangePark02)},
		{"phone-context stripped", pool01, "alice", "150;phone-context=user-default", orbitRoute(d, ToPickup, "", "150", rangePickup01)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, d.Route(tt.pool, enterprise(tt.caller), tt.dialled, t0))
		})
	}
}

// Rule (SPEC section 2): orbit numbers before users. A user whose name is an orbit number
// cannot be called by that name.
func TestRuleOrbitNumbersBeforeUsers(t *testing.T) {
	d := newDeployment(t, func(topo *Topology) {
		topo.Users = append(topo.Users, User{Name: "150", HomePool: pool02}, User{Name: "7000", HomePool: pool02}, User{Name: "555", HomePool: pool02})
	})
	assert.Equal(t, orbitRoute(d, ToPickup, "", "150", rangePickup01), d.Route(pool01, enterprise("alice"), "150", t0))
	assert.Equal(t, orbitRoute(d, ToOrbit, "", "7000", rangePark01), d.Route(pool01, enterprise("alice"), "7000", t0))
	assert.Equal(t, Route{Kind: ToPool, Pool: pool02, User: "555"}, d.Route(pool01, enterprise("alice"), "555", t0),
		"a numeric name outside every range is a user")
}

// rejected checks that r rejects with code and diagnostic, and that its Warning says why.
func rejected(t *testing.T, r Route, code, diag int, why ...string) {
	t.Helper()
	require.Equal(t, Rejected, r.Kind)
	require.NotNil(t, r.Reject)
	assert.Equal(t, code, r.Reject.Code)
	assert.Equal(t, diag, r.Reject.Diagnostic)
	assert.NotEmpty(t, r.Reject.Reason)
	for _, w := range why {
		assert.Contains(t, r.Reject.Warning, w)
	}
	assert.Equal(t, Route{Kind: Rejected, Reject: r.Reject}, r, "a rejection routes nowhere")
}

// Rule (SPEC section 2): if the owning pool is down, unknown, or has its Call Park
// application disabled, the orbit call fails: 503, ms-diagnostics 35011 "Could not forward to
// parking server".
func TestRuleOrbitOwnerUnavailableIs503CouldNotForward(t *testing.T) {
	t.Run("owner down", func(t *testing.T) {
		d := newDeployment(t)
		apply(t, d, on(pool01, PoolOutage))
		for _, n := range []string{"150", "7050"} {
			rejected(t, d.Route(pool02, enterprise("dave"), n, t0), 503, DiagCannotForward,
				rangeOf(n), pool01, "not answering", "Set-CsCallParkOrbit")
		}
	})
	t.Run("owner not in the topology", func(t *testing.T) {
		d := newDeployment(t)
		require.NoError(t, d.orbits.New(pickupRange("Stray", "400", "499", pool03)))
		rejected(t, d.Route(pool02, enterprise("dave"), "450", t0), 503, DiagCannotForward,
			"Stray", pool03, "not a pool of this topology")
	})
	t.Run("owner's Call Park application disabled", func(t *testing.T) {
		d := newDeployment(t, func(topo *Topology) { topo.Pools[0].CPSDisabled = true })
		for _, pool := range []string{pool01, pool02} {
			for _, n := range []string{"150", "7050"} {
				rejected(t, d.Route(pool, enterprise("dave"), n, t0), 503, DiagCannotForward,
					rangeOf(n), pool01, "Call Park application is disabled")
			}
		}
		assert.Equal(t, orbitRoute(d, ToPickup, "", "250", rangePickup02), d.Route(pool02, enterprise("dave"), "250", t0),
			"pool02's own ranges still work")
	})
}

func rangeOf(number string) string {
	if number == "150" {
		return rangePickup01
	}
	return rangePark01
}

// Rule (SPEC section 3, diagnostic 35003): callers from outside the enterprise may neither
// pick up nor retrieve a parked call.
func TestRuleOutsideCallerIs403CannotUnparkFromOutside(t *testing.T) {
	d := newDeployment(t)
	rejected(t, d.Route(pool01, outsider, "150", t0), 403, DiagOutsideEnterprise, "outside the enterprise", "Group Call Pickup", "150")
	rejected(t, d.Route(pool01, outsider, "7050", t0), 403, DiagOutsideEnterprise, "outside the enterprise", "retrieve a parked call", "7050")
	rejected(t, d.Route(pool02, outsider, "150;phone-context=x", t0), 403, DiagOutsideEnterprise, "150")
	// Outside callers may still call users.
	assert.Equal(t, Route{Kind: ToUser, User: "alice"}, d.Route(pool01, outsider, "alice", t0))
}

// Seed: "While in resiliency mode, users cannot pick up other users' calls" — SPEC section 5
// choice: 480 with a Warning that says resiliency mode (nor can they retrieve a parked call).
func TestSeedUserInResiliencyModeCannotPickUp(t *testing.T) {
	tests := []struct {
		name string
		of   state
		pool string
	}{
		{"outage, on the backup registrar", state{Outage, false}, pool02},
		{"during failover process", state{FailingOver, false}, pool02},
		{"during failback process", state{FailingBack, true}, pool01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeployment(t)
			drive(t, d, pool01, tt.of)
			now := at(time.Hour)
			for _, n := range []string{"250", "150", "8000"} {
				rejected(t, d.Route(tt.pool, enterprise("alice"), n, now), 480, 0, "alice is in resiliency mode", "cannot")
			}
			// The backup pool's own users are not in resiliency mode.
			assert.Equal(t, orbitRoute(d, ToPickup, "", "250", rangePickup02), d.Route(pool02, enterprise("dave"), "250", now))
		})
	}
}

// Rule (SPEC section 3 extra): with PickupMembersOnly, only members of the group may dial
// its number; without it, anyone in the enterprise may. Call Park retrieval is not
// restricted.
func TestRulePickupMembersOnlyOption(t *testing.T) {
	tests := []struct {
		membersOnly bool
		caller      string
		dialled     string
		allowed     bool
	}{
		{false, "alice", "150", true},
		{false, "carol", "150", true},
		{false, "dave", "150", true},
		{true, "alice", "150", true},
		{true, "bob", "150;phone-context=user-default", true},
		{true, "carol", "150", false},
		{true, "dave", "150", false},
		{true, "alice", "151", false}, // the group is the number, not the range
		{true, "carol", "7050", true},
	}
	for _, tt := range tests {
		d := newDeployment(t, func(topo *Topology) { topo.PickupMembersOnly = tt.membersOnly })
		r := d.Route(pool01, enterprise(tt.caller), tt.dialled, t0)
		if tt.allowed {
			assert.Contains(t, []RouteKind{ToPickup, ToOrbit}, r.Kind, "%+v", tt)
			continue
		}
		rejected(t, r, 403, 0, tt.caller+" is not a member of group call pickup group "+Dialled(tt.dialled), "restricts pickup to members")
	}
}

// Rule (SPEC section 2): anything that is not an orbit number goes to the callee's current
// registrations: on this pool (ToUser), another pool (ToPool), or nowhere (480 signed out);
// a number that is neither a user nor an orbit is 404.
func TestRuleUserRouting(t *testing.T) {
	tests := []struct {
		name    string
		of      state // pool01's state
		now     time.Time
		pool    string
		dialled string
		want    Route
		why     []string // for rejections
	}{
		{"callee on this pool", state{Normal, true}, t0, pool01, "alice", Route{Kind: ToUser, User: "alice"}, nil},
		{"callee on another pool", state{Normal, true}, t0, pool02, "alice", Route{Kind: ToPool, Pool: pool01, User: "alice"}, nil},
		{"phone-context stripped", state{Normal, true}, t0, pool02, "alice;phone-context=x", Route{Kind: ToPool, Pool: pool01, User: "alice"}, nil},
		{"unknown name", state{Normal, true}, t0, pool01, "mallory", Route{Kind: Rejected, Reject: &Rejection{Code: 404, Reason: "Not Found"}},
			[]string{"mallory is neither a user nor an orbit of domain contoso.com"}},
		{"unknown number outside every range", state{Normal, true}, t0, pool01, "999", Route{Kind: Rejected, Reject: &Rejection{Code: 404, Reason: "Not Found"}},
			[]string{"999"}},
		{"E.164 number", state{Normal, true}, t0, pool01, "+14255550100", Route{Kind: Rejected, Reject: &Rejection{Code: 404, Reason: "Not Found"}},
			[]string{"+14255550100"}},
		{"signed-out callee during the registrar failover timer", state{Outage, false}, at(time.Minute), pool02, "alice",
			Route{Kind: Rejected, Reject: &Rejection{Code: 480, Reason: "Temporarily Unavailable"}}, []string{"alice is signed out", "registrar failover timer"}},
		{"callee on the backup registrar", state{Outage, false}, at(time.Hour), pool02, "alice", Route{Kind: ToUser, User: "alice"}, nil},
		{"callee on the backup registrar, call at home pool", state{Outage, false}, at(time.Hour), pool01, "alice", Route{Kind: ToPool, Pool: pool02, User: "alice"}, nil},
		{"callee failed over", state{FailedOver, true}, t0, pool02, "alice", Route{Kind: ToUser, User: "alice"}, nil},
		{"callee failing back", state{FailingBack, true}, t0, pool02, "alice", Route{Kind: ToPool, Pool: pool01, User: "alice"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeployment(t)
			drive(t, d, pool01, tt.of)
			got := d.Route(tt.pool, enterprise("dave"), tt.dialled, tt.now)
			if tt.want.Reject != nil {
				rejected(t, got, tt.want.Reject.Code, 0, tt.why...)
				got.Reject.Warning = ""
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// Signed out with both pools down: 480, and the Warning says why.
func TestRouteCalleeWithNoRegistrarAnswering(t *testing.T) {
	d := newDeployment(t)
	apply(t, d, on(pool02, PoolOutage), on(pool01, PoolOutage))
	rejected(t, d.Route(pool02, outsider, "alice", at(time.Hour)), 480, 0, "alice is signed out", "no backup registrar answering")
}

// queuedAt renders QueueAt's decision for callee's call at pool: "" when it is not
// reported, "number@owner", and " blocked: kind" when it cannot be picked up.
func queuedAt(d *Deployment, pool, callee string, now time.Time) string {
	q, ok := d.QueueAt(pool, Ringing{Callee: callee}, now)
	if !ok {
		return ""
	}
	out := q.Number + "@" + q.Owner
	if q.Blocked != "" {
		out += " blocked: " + string(q.Blocked)
	}
	return out
}

// Rule (SPEC section 3): a call to a user who has a pickup number is also entered in the
// pickup queue of that number, held by the CPS of the pool that owns the range, wherever
// the member is served: the pool that serves the callee reports it there. A call to a member
// in resiliency mode is reported blocked (SPEC section 5).
func TestRuleQueueAtInNormalOperation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Topology)
		pool   string
		callee string
		want   string
	}{
		{"member at its pool", nil, pool01, "alice", "150@" + pool01},
		{"other member", nil, pool01, "bob", "150@" + pool01},
		{"pool02 member", nil, pool02, "dave", "250@" + pool02},
		{"not at a pool that does not serve the callee", nil, pool02, "alice", ""},
		{"no pickup number", nil, pool01, "carol", ""},
		{"unknown callee", nil, pool01, "mallory", ""},
		{"range owned by another pool: reported to the owner", func(t *Topology) { t.Users[0].PickupNumber = "250" }, pool01, "alice", "250@" + pool02},
		{"Call Park application disabled", func(t *Topology) { t.Pools[0].CPSDisabled = true }, pool01, "alice", ""},
		{"owner's Call Park application disabled", func(t *Topology) {
			t.Users[0].PickupNumber = "250"
			t.Pools[1].CPSDisabled = true
		}, pool01, "alice", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mutate []func(*Topology)
			if tt.mutate != nil {
				mutate = append(mutate, tt.mutate)
			}
			d := newDeployment(t, mutate...)
			assert.Equal(t, tt.want, queuedAt(d, tt.pool, tt.callee, t0))
		})
	}
}

// Issue 9.2: a group whose range pool02 owns, with a member homed on pool01. The member's
// calls are reported to pool02's queue in normal operation; the seed's rules hold for the
// group through a disaster of either pool.
func TestCrossPoolGroupThroughTheSeedsPhases(t *testing.T) {
	cross := func(t *Topology) { t.Users[0].PickupNumber = "250" } // alice, homed on pool01
	t.Run("owner down: not queued, pickups 503/35011 until redirected", func(t *testing.T) {
		d := newDeployment(t, cross)
		apply(t, d, on(pool02, PoolOutage))
		assert.Empty(t, queuedAt(d, pool01, "alice", t0))
		rejected(t, d.Route(pool01, enterprise("bob"), "250", t0), 503, DiagCannotForward, pool02)
		redirect(t, d, rangePickup02, pool01)
		assert.Equal(t, "250@"+pool01, queuedAt(d, pool01, "alice", t0))
	})
	t.Run("member's pool fails over: blocked in resiliency mode, then queued at the owner", func(t *testing.T) {
		d := newDeployment(t, cross)
		apply(t, d, on(pool01, PoolOutage), on(pool01, FailOverStart))
		assert.Equal(t, "250@"+pool02+" blocked: resiliency", queuedAt(d, pool02, "alice", t0))
		apply(t, d, on(pool01, FailOverComplete))
		assert.Equal(t, "250@"+pool02, queuedAt(d, pool02, "alice", t0), "no redirection needed: the range never was on pool01")
		apply(t, d, on(pool01, PoolRecovery), on(pool01, FailBackStart))
		assert.Equal(t, "250@"+pool02+" blocked: resiliency", queuedAt(d, pool01, "alice", t0))
		apply(t, d, on(pool01, FailBackComplete))
		assert.Equal(t, "250@"+pool02, queuedAt(d, pool01, "alice", t0))
	})
	t.Run("the owner accepts reports only for its own running ranges", func(t *testing.T) {
		d := newDeployment(t, cross)
		assert.True(t, d.HoldsQueue(pool02, "250"))
		assert.True(t, d.HoldsQueue(pool02, "250;phone-context=user-default"))
		assert.False(t, d.HoldsQueue(pool01, "250"), "pool01 does not own 250")
		assert.False(t, d.HoldsQueue(pool02, "7050"), "not a GroupPickup range")
		assert.False(t, d.HoldsQueue(pool02, "999"), "no range")
		apply(t, d, on(pool02, PlannedFailOverStart))
		assert.False(t, d.HoldsQueue(pool02, "250"), "a failing-over pool does not run its Call Park application")
	})
}

// Removing the range (Remove-CsCallParkOrbit) or turning it into a CallPark range stops
// the queueing; the user keeps its number, as in Lync.
func TestQueueAtFollowsTheOrbitTable(t *testing.T) {
	d := newDeployment(t)
	callPark := park.CallPark
	require.NoError(t, d.SetOrbit(rangePickup01, park.OrbitChange{Type: &callPark}))
	assert.Empty(t, queuedAt(d, pool01, "alice", t0), "CallPark range")

	require.NoError(t, d.RemoveOrbit(rangePickup01))
	assert.Empty(t, queuedAt(d, pool01, "alice", t0), "no range")
	n, ok := d.PickupNumber("alice")
	assert.True(t, ok)
	assert.Equal(t, "150", n)
}

// queued reports QueueAt's decision for alice at pool.
func queued(d *Deployment, pool string, now time.Time) string { return queuedAt(d, pool, "alice", now) }

// Seed: "During failover process: Group Call Pickup not available for users in resiliency
// mode" — and while P is out before failover, its users' calls are not queued anywhere.
// With the range redirected early to the backup, the backup reports them blocked, so that a
// pickup says why it cannot answer them.
func TestSeedDuringFailoverGroupCallPickupNotAvailable(t *testing.T) {
	for _, s := range []state{{Outage, false}, {FailingOver, false}, {FailingOver, true}} {
		t.Run(s.String(), func(t *testing.T) {
			d := newDeployment(t)
			drive(t, d, pool01, s)
			now := at(time.Hour)
			assert.Empty(t, queued(d, pool01, now))
			assert.Empty(t, queued(d, pool02, now), "the range is on pool01, whose Call Park application does not run")
			redirect(t, d, rangePickup01, pool02)
			assert.Equal(t, "150@"+pool02+" blocked: resiliency", queued(d, pool02, now), "redirected to the backup: reported, but blocked")
			assert.Empty(t, queued(d, pool01, now))
		})
	}
}

// Seed: "After failover is complete: Group Call Pickup available when users out of
// resiliency and Group Call Pickup number ranges are redirected to backup pool".
func TestSeedAfterFailoverCompleteAvailableOnceRangesRedirectedToBackup(t *testing.T) {
	d := newDeployment(t)
	drive(t, d, pool01, state{FailedOver, false})

	// Out of resiliency, but the range still points at dead P: nothing is queued, and the
	// group number routes to dead P and fails.
	assert.Empty(t, queued(d, pool02, t0))
	rejected(t, d.Route(pool02, enterprise("bob"), "150", t0), 503, DiagCannotForward, pool01)

	redirect(t, d, rangePickup01, pool02)
	assert.Equal(t, "150@"+pool02, queued(d, pool02, t0))
	assert.Empty(t, queued(d, pool01, t0))
	assert.Equal(t, orbitRoute(d, ToPickup, "", "150", rangePickup01), d.Route(pool02, enterprise("bob"), "150", t0))
	assert.Equal(t, pool02, owner(t, d, rangePickup01))

	// P coming back changes nothing until failback.
	apply(t, d, on(pool01, PoolRecovery))
	assert.Equal(t, "150@"+pool02, queued(d, pool02, t0))
}

// After failover P answers again (recovered, or a planned failover), but does not run its
// Call Park application until failback: its ranges still need redirecting.
func TestFailedOverPoolThatAnswersDoesNotServeItsRanges(t *testing.T) {
	for _, path := range [][]Event{{PoolOutage, FailOverStart, PoolRecovery}, {PlannedFailOverStart}, {PlannedFailOverStart, FailOverComplete}} {
		d := newDeployment(t)
		for _, ev := range path {
			apply(t, d, on(pool01, ev))
		}
		for _, n := range []string{"150", "7050"} {
			rejected(t, d.Route(pool02, enterprise("dave"), n, t0), 503, DiagCannotForward, pool01, "does not run its Call Park application", "Set-CsCallParkOrbit")
		}
	}
}

// Seed: "During failback process: Group Call Pickup not available for users in resiliency
// mode", wherever the ranges point.
func TestSeedDuringFailbackGroupCallPickupNotAvailable(t *testing.T) {
	d := newDeployment(t)
	drive(t, d, pool01, state{FailedOver, true})
	redirect(t, d, rangePickup01, pool02)
	apply(t, d, on(pool01, FailBackStart))

	assert.Equal(t, "150@"+pool02+" blocked: resiliency", queued(d, pool01, t0))
	assert.Empty(t, queued(d, pool02, t0))
	rejected(t, d.Route(pool01, enterprise("bob"), "150", t0), 480, 0, "resiliency mode")

	redirect(t, d, rangePickup01, pool01)
	assert.Equal(t, "150@"+pool01+" blocked: resiliency", queued(d, pool01, t0), "not even with the range back on P")
}

// Seed: "After failback is complete: Group Call Pickup available when users out of
// resiliency and Group Call Pickup number ranges are redirected back to primary pool".
// Before they are, the group works as a cross-pool group: P reports its users' calls to the
// backup's queue (SPEC section 3), so the runbook step is still the administrator's, but
// forgetting it does not break pickup while the backup runs.
func TestSeedAfterFailbackCompleteAvailableOnceRangesRedirectedBack(t *testing.T) {
	d := newDeployment(t)
	drive(t, d, pool01, state{FailedOver, true})
	redirect(t, d, rangePickup01, pool02)
	assert.Equal(t, orbitRoute(d, ToPickup, "", "150", rangePickup01), d.Route(pool02, enterprise("bob"), "150", t0),
		"failed over: the group number works through the backup")
	apply(t, d, on(pool01, FailBackStart), on(pool01, FailBackComplete))

	// Seed: after failback, pickup is available "when ... Group Call Pickup number ranges
	// are redirected back to primary pool": a runbook that forgets the step fails.
	r, _ := d.Orbit(rangePickup01)
	assert.Equal(t, Route{Reject: GroupPickupRangeNotRedirectedBack(r, pool01)}, d.Route(pool01, enterprise("bob"), "150", t0),
		"the range still on the backup refuses pickups")
	assert.Empty(t, queued(d, pool01, t0), "no queue holds alice's calls")
	assert.Empty(t, queued(d, pool02, t0), "the backup no longer serves alice")
	assert.Contains(t, fmt.Sprint(d.Warnings()), "orbit range "+rangePickup01+" still points at "+pool02)

	redirect(t, d, rangePickup01, pool01)
	assert.Equal(t, "150@"+pool01, queued(d, pool01, t0))
	assert.Equal(t, orbitRoute(d, ToPickup, "", "150", rangePickup01), d.Route(pool01, enterprise("bob"), "150", t0))
	assert.NotContains(t, fmt.Sprint(d.Warnings()), "still points at")
}

// A range on another pool before any failure (a group whose members are homed on several
// pools) is the administrator's design, not a runbook step left undone.
func TestARangeOwnedByTheBackupFromTheStartKeepsWorkingAfterFailback(t *testing.T) {
	d := newDeployment(t)
	redirect(t, d, rangePickup01, pool02) // in normal operation
	drive(t, d, pool01, state{FailedOver, true})
	apply(t, d, on(pool01, FailBackStart), on(pool01, FailBackComplete))
	assert.Equal(t, "150@"+pool02, queued(d, pool01, t0), "pool01 reports alice's calls to the range's owner")
	assert.Equal(t, orbitRoute(d, ToPool, pool02, "150", rangePickup01), d.Route(pool01, enterprise("bob"), "150", t0))
}

// AutoRedirectOrbits moves the ranges both ways itself: nothing is left displaced.
func TestAutoRedirectLeavesNoRangeBehind(t *testing.T) {
	d := newDeployment(t)
	d.topo.AutoRedirectOrbits = true
	drive(t, d, pool01, state{FailedOver, true})
	apply(t, d, on(pool01, FailBackStart), on(pool01, FailBackComplete))
	assert.Equal(t, orbitRoute(d, ToPickup, "", "150", rangePickup01), d.Route(pool01, enterprise("bob"), "150", t0))
	assert.Empty(t, d.displaced)
}

func TestNothingToPickUp(t *testing.T) {
	r := NothingToPickUp("150")
	assert.Equal(t, 404, r.Code)
	assert.Equal(t, "Not Found", r.Reason)
	assert.Equal(t, DiagOrbitNotFound, r.Diagnostic)
	assert.Contains(t, r.Warning, "150")
	assert.Equal(t, "Orbit not found", DiagnosticText[r.Diagnostic])
}

// Every diagnostic code has Lync's text (SPEC section 6).
func TestDiagnosticTextForEveryCode(t *testing.T) {
	codes := map[int]string{
		DiagOrbitNotFound: "Orbit not found", DiagGeneralError: "General processing error",
		DiagNoFreeOrbit: "No more available orbits", DiagOutsideEnterprise: "Cannot un-park from outside of enterprise",
		DiagParkTimeout: "Park request time-out", DiagDoublePark: "Double park",
		DiagCannotForward: "Could not forward to parking server", DiagDraining: "Parking server is in draining mode",
		DiagParkTimeExpired: "Park time expired, terminating parkee leg", DiagTerminatingParker: "Terminating dialog with parker",
		DiagParkTimeExpiredAlt: "Park time expired, terminating parkee leg", DiagNoConversation: "No valid conversation to park a call",
	}
	assert.Equal(t, codes, DiagnosticText)
	assert.Equal(t, 35000, DiagOrbitNotFound)
	assert.Equal(t, 35003, DiagOutsideEnterprise)
	assert.Equal(t, 35011, DiagCannotForward)
}
