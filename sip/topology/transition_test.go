package topology

import (
	"fmt"
	"testing"
	"time"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/pickup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	usersOf01 = []string{"alice", "bob", "carol"}
	allUsers  = []string{"alice", "bob", "carol", "dave", "erin"}
)

// Rule (SPEC section 5): transitions tell package sip which registrations (and the pickup
// calls they had queued) a pool must forget, which queued pickup calls are lost wherever they
// are queued, and when a pool's Call Park application stops:
//   - an outage: the pool that stops answering forgets every registration it held, whoever's,
//     and the calls it reported to other pools' queues are lost with it;
//   - a recovery before failover: P's users leave B's backup registrar and go home;
//   - failover start (either kind) and failback start: calls queued for P's users can never be
//     picked up (the seed's "Calls in Group Call Pickup queue" row);
//   - failback start: P's users are signed out of B and back into P;
//   - a planned failover: P's users are signed out of P, and P's Call Park application stops.
//
// Nothing else signs anyone out or loses anything.
func TestRuleSignOut(t *testing.T) {
	lostBy01 := LostCalls{HeldBy: []string{pool01}}
	lostFor01 := LostCalls{Callees: usersOf01}
	tests := []struct {
		from state
		ev   Event
		want []SignOut
		lost LostCalls
		stop bool
	}{
		{state{Normal, true}, PoolOutage, []SignOut{{Pool: pool01, Users: allUsers}}, lostBy01, false},
		{state{Normal, true}, PlannedFailOverStart, []SignOut{{Pool: pool01, Users: usersOf01}}, lostFor01, true},
		{state{Outage, false}, PoolRecovery, []SignOut{{Pool: pool02, Users: usersOf01}}, LostCalls{}, false},
		{state{Outage, false}, FailOverStart, nil, lostFor01, false},
		{state{FailingOver, false}, PoolRecovery, nil, LostCalls{}, false},
		{state{FailingOver, false}, FailOverComplete, nil, LostCalls{}, false},
		{state{FailingOver, true}, PoolOutage, []SignOut{{Pool: pool01, Users: allUsers}}, lostBy01, false},
		{state{FailingOver, true}, FailOverComplete, nil, LostCalls{}, false},
		{state{FailedOver, false}, PoolRecovery, nil, LostCalls{}, false},
		{state{FailedOver, true}, PoolOutage, []SignOut{{Pool: pool01, Users: allUsers}}, lostBy01, false},
		{state{FailedOver, true}, FailBackStart, []SignOut{{Pool: pool02, Users: usersOf01}}, lostFor01, false},
		{state{FailingBack, true}, PoolOutage, []SignOut{{Pool: pool01, Users: allUsers}}, lostBy01, false},
		{state{FailingBack, true}, FailBackComplete, nil, LostCalls{}, false},
	}
	// Every legal cell of the transition table is listed.
	legal := 0
	for _, c := range transitionTable {
		if c.to != nil {
			legal++
		}
	}
	require.Len(t, tests, legal)

	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.from, tt.ev), func(t *testing.T) {
			d := newDeployment(t)
			drive(t, d, pool01, tt.from)
			tr, err := d.Apply(pool01, tt.ev, t0)
			require.NoError(t, err)
			assert.Equal(t, tt.want, tr.SignOut)
			assert.Equal(t, tt.lost, tr.Lost)
			assert.Equal(t, tt.stop, tr.StopCallPark)
		})
	}
}

// The backup pool going down signs out everything it held too (its own users and any of
// P's it was serving).
func TestSignOutWhenTheBackupGoesDown(t *testing.T) {
	d := newDeployment(t)
	drive(t, d, pool01, state{FailedOver, true})
	tr, err := d.Apply(pool02, PoolOutage, t0)
	require.NoError(t, err)
	assert.Equal(t, []SignOut{{Pool: pool02, Users: allUsers}}, tr.SignOut)
}

// A pool with no backup: recovery signs nobody out of a backup it does not have.
func TestSignOutWithNoBackup(t *testing.T) {
	d := newDeployment(t, func(topo *Topology) {
		topo.Pools = append(topo.Pools, Pool{FQDN: pool03})
		topo.Users = append(topo.Users, User{Name: "frank", HomePool: pool03})
	})
	apply(t, d, on(pool03, PoolOutage))
	tr, err := d.Apply(pool03, PoolRecovery, t0)
	require.NoError(t, err)
	assert.Nil(t, tr.SignOut)
}

// Seed: "Calls in Group Call Pickup queue — During failback process: Calls in queue cannot be
// answered through Group Call Pickup. After failback is complete: Calls in queue cannot be
// answered through Group Call Pickup." The failback sign-out drops the queued calls of P's
// users from B's queues, so no pickup can answer them then or later.
func TestSeedCallsInQueueAtFailbackCannotBeAnswered(t *testing.T) {
	d := newDeployment(t)
	drive(t, d, pool01, state{FailedOver, true})
	redirect(t, d, rangePickup01, pool02)

	// B's Call Park application holds calls for alice (failed over) and dave (B's own user).
	q := pickup.NewQueues()
	for i, c := range []struct{ id, callee string }{{"c1", "alice"}, {"c2", "dave"}, {"c3", "bob"}} {
		qd, ok := d.QueueAt(pool02, Ringing{Callee: c.callee}, t0)
		require.True(t, ok, c.callee)
		require.NoError(t, q.Add(pickup.Call{ID: c.id, Caller: "outside", Callee: c.callee, Number: qd.Number, Since: at(time.Duration(i) * time.Second)}))
	}

	tr, err := d.Apply(pool01, FailBackStart, at(time.Minute))
	require.NoError(t, err)
	require.Len(t, tr.SignOut, 1)
	require.Equal(t, pool02, tr.SignOut[0].Pool)
	gone := map[string]bool{}
	for _, u := range tr.Lost.Callees {
		gone[u] = true
	}
	lost := q.Drop(func(c pickup.Call) bool { return gone[c.Callee] })

	assert.Equal(t, []string{"c1", "c3"}, []string{lost[0].ID, lost[1].ID})
	_, ok := q.Take("150", "carol")
	assert.False(t, ok, "during failback")
	assert.Equal(t, 1, q.Len("250"), "B's own users' calls stay queued")

	apply(t, d, on(pool01, FailBackComplete))
	_, ok = q.Take("150", "carol")
	assert.False(t, ok, "after failback is complete")
}

// Seed: "Calls in Group Call Pickup queue — During failover process: Calls in queue cannot be
// answered through Group Call Pickup" — they were held by P's Call Park application, which
// stopped answering: the outage signs everything out of P, and P's group number fails.
func TestSeedCallsInQueueAtFailoverCannotBeAnswered(t *testing.T) {
	d := newDeployment(t)
	qd, ok := d.QueueAt(pool01, Ringing{Callee: "alice"}, t0)
	require.True(t, ok)
	q := pickup.NewQueues()
	require.NoError(t, q.Add(pickup.Call{ID: "c1", Caller: "dave", Callee: "alice", Number: qd.Number, Since: t0}))

	tr, err := d.Apply(pool01, PoolOutage, at(time.Second))
	require.NoError(t, err)
	require.Equal(t, []SignOut{{Pool: pool01, Users: allUsers}}, tr.SignOut)
	gone := map[string]bool{}
	for _, u := range tr.SignOut[0].Users {
		gone[u] = true
	}
	assert.Len(t, q.Drop(func(c pickup.Call) bool { return gone[c.Callee] }), 1)

	apply(t, d, event{pool01, FailOverStart, at(time.Minute)})
	rejected(t, d.Route(pool02, enterprise("dave"), "150", at(time.Minute)), 503, DiagCannotForward, pool01)
}

// Seed: "The Group Call Pickup number ranges in the call park orbit table must be redirected
// to the backup pool after the failover process to the backup pool is complete. The number
// ranges must be redirected back to the primary pool after the failback process to the
// primary pool is complete." With AutoRedirectOrbits the simulator does it: GroupPickup
// ranges only, CallPark ranges stay, the backup's own ranges are untouched.
func TestSeedAutoRedirectGroupPickupRangesOnFailoverAndFailbackCompletion(t *testing.T) {
	d := newDeployment(t, withAutoRedirect, func(topo *Topology) {
		topo.Orbits = append(topo.Orbits, pickupRange("GroupPickup-pool01-b", "*300", "*399", pool01))
	})
	owners := func() map[string]string {
		out := map[string]string{}
		for _, r := range d.Orbits() {
			out[r.Identity] = r.CallParkService
		}
		return out
	}
	initial := owners()

	tr, err := d.Apply(pool01, PoolOutage, t0)
	require.NoError(t, err)
	assert.Nil(t, tr.Redirected)
	tr, err = d.Apply(pool01, FailOverStart, t0)
	require.NoError(t, err)
	assert.Nil(t, tr.Redirected, "not during the failover process")
	assert.Equal(t, initial, owners())

	tr, err = d.Apply(pool01, FailOverComplete, t0)
	require.NoError(t, err)
	assert.Equal(t, []string{rangePickup01, "GroupPickup-pool01-b"}, tr.Redirected)
	assert.Equal(t, map[string]string{
		rangePickup01: pool02, "GroupPickup-pool01-b": pool02,
		rangePickup02: pool02, rangePark01: pool01, rangePark02: pool02,
	}, owners())
	assert.Equal(t, "150@"+pool02, queued(d, pool02, t0), "Group Call Pickup available after failover is complete")

	apply(t, d, on(pool01, PoolRecovery))
	tr, err = d.Apply(pool01, FailBackStart, t0)
	require.NoError(t, err)
	assert.Nil(t, tr.Redirected, "not during the failback process")

	tr, err = d.Apply(pool01, FailBackComplete, t0)
	require.NoError(t, err)
	assert.Equal(t, []string{rangePickup01, "GroupPickup-pool01-b"}, tr.Redirected)
	assert.Equal(t, initial, owners())
	assert.Equal(t, "150@"+pool01, queued(d, pool01, t0), "Group Call Pickup available after failback is complete")
}

// Without AutoRedirectOrbits, redirecting is the administrator's runbook step.
func TestAutoRedirectOffMovesNothing(t *testing.T) {
	d := newDeployment(t)
	before := d.Orbits()
	for _, ev := range []Event{PoolOutage, FailOverStart, FailOverComplete, PoolRecovery, FailBackStart, FailBackComplete} {
		tr, err := d.Apply(pool01, ev, t0)
		require.NoError(t, err, "%s", ev)
		assert.Nil(t, tr.Redirected, "%s", ev)
		assert.Equal(t, before, d.Orbits(), "%s", ev)
	}
}

// Rule: at failback completion the simulator moves back only the ranges it moved itself that
// still point at the backup; a range the administrator changed or removed meanwhile is left
// alone.
func TestRuleAutoRedirectLeavesAloneRangesTheAdminChanged(t *testing.T) {
	d := newDeployment(t, withAutoRedirect, func(topo *Topology) {
		topo.Orbits = append(topo.Orbits,
			pickupRange("GroupPickup-pool01-b", "300", "399", pool01),
			pickupRange("GroupPickup-pool01-c", "400", "499", pool01),
			pickupRange("GroupPickup-pool01-d", "500", "599", pool01))
	})
	drive(t, d, pool01, state{FailedOver, true})
	require.Equal(t, pool02, owner(t, d, "GroupPickup-pool01-b"))

	redirect(t, d, "GroupPickup-pool01-b", pool01)            // the admin moved it back early
	require.NoError(t, d.RemoveOrbit("GroupPickup-pool01-c")) // the admin removed it
	redirect(t, d, rangePickup02, pool01)                     // not the simulator's to move
	apply(t, d, on(pool01, FailBackStart))

	tr, err := d.Apply(pool01, FailBackComplete, t0)
	require.NoError(t, err)
	assert.Equal(t, []string{rangePickup01, "GroupPickup-pool01-d"}, tr.Redirected)
	assert.Equal(t, pool01, owner(t, d, rangePickup01))
	assert.Equal(t, pool01, owner(t, d, "GroupPickup-pool01-b"))
	assert.Equal(t, pool01, owner(t, d, "GroupPickup-pool01-d"))
	assert.Equal(t, pool01, owner(t, d, rangePickup02), "left where the admin put it")
	_, ok := d.Orbit("GroupPickup-pool01-c")
	assert.False(t, ok)

	// The memory of the redirection is spent: a second walk starts afresh.
	drive(t, d, pool01, state{FailedOver, true})
	apply(t, d, on(pool01, FailBackStart))
	tr, err = d.Apply(pool01, FailBackComplete, t0)
	require.NoError(t, err)
	assert.Equal(t, []string{rangePickup01, "GroupPickup-pool01-b", "GroupPickup-pool01-d", rangePickup02}, tr.Redirected)
}

// An outage during failback puts P back in outage with its ranges still on the backup; the
// next failover completion finds none of them on P. Failback completion must still bring
// back every range the simulator moved.
func TestAutoRedirectSurvivesAnOutageDuringFailback(t *testing.T) {
	d := newDeployment(t, withAutoRedirect)
	drive(t, d, pool01, state{FailingBack, true})
	require.Equal(t, pool02, owner(t, d, rangePickup01))

	apply(t, d, on(pool01, PoolOutage), on(pool01, FailOverStart))
	tr, err := d.Apply(pool01, FailOverComplete, t0)
	require.NoError(t, err)
	assert.Empty(t, tr.Redirected, "nothing left on P to move")
	assert.Equal(t, pool02, owner(t, d, rangePickup01))

	apply(t, d, on(pool01, PoolRecovery), on(pool01, FailBackStart))
	tr, err = d.Apply(pool01, FailBackComplete, t0)
	require.NoError(t, err)
	assert.Equal(t, []string{rangePickup01}, tr.Redirected)
	assert.Equal(t, pool01, owner(t, d, rangePickup01))
	assert.Equal(t, "150@"+pool01, queued(d, pool01, t0))
}

// A redirection that would break an orbit-table rule (the backup would own 50,000 numbers)
// refuses the failover completion and changes nothing.
func TestAutoRedirectRefusedByTheOrbitTableChangesNothing(t *testing.T) {
	d := newDeployment(t, withAutoRedirect, func(topo *Topology) {
		// pool02 owns 200-299 and 8000-8099: add 49,700 numbers, so the 100 of pool01's
		// pickup range would take it to 50,000.
		big := [][2]string{{"10000", "19939"}, {"20000", "29939"}, {"30000", "39939"}, {"40000", "49939"}, {"50000", "59939"}}
		for i, r := range big {
			topo.Orbits = append(topo.Orbits, park.OrbitRange{Identity: fmt.Sprintf("Big%d", i), NumberRangeStart: r[0], NumberRangeEnd: r[1], CallParkService: pool02})
		}
	})
	apply(t, d, on(pool01, PoolOutage), on(pool01, FailOverStart))
	before := snap(d)

	tr, err := d.Apply(pool01, FailOverComplete, t0)
	require.ErrorIs(t, err, park.ErrPoolFull)
	assert.Contains(t, err.Error(), "redirecting orbit ranges of "+pool01+" to "+pool02)
	assert.Equal(t, Transition{}, tr)
	assert.Equal(t, before, snap(d))
}

// The same all-or-nothing at failback completion: if moving the ranges back would overfill P,
// failback does not complete and nothing changes.
func TestAutoRedirectBackRefusedByTheOrbitTableChangesNothing(t *testing.T) {
	d := newDeployment(t, withAutoRedirect)
	drive(t, d, pool01, state{FailingBack, true})
	// pool01 owns 7000-7099 while its pickup range is away: fill it up to 49,999 numbers.
	big := [][2]string{{"10000", "19998"}, {"20000", "29998"}, {"30000", "39998"}, {"40000", "49998"}, {"50000", "59902"}}
	for i, r := range big {
		require.NoError(t, d.NewOrbit(park.OrbitRange{Identity: fmt.Sprintf("Big%d", i), NumberRangeStart: r[0], NumberRangeEnd: r[1], CallParkService: pool01}))
	}
	before := snap(d)

	tr, err := d.Apply(pool01, FailBackComplete, t0)
	require.ErrorIs(t, err, park.ErrPoolFull)
	assert.Contains(t, err.Error(), rangePickup01)
	assert.Equal(t, Transition{}, tr)
	assert.Equal(t, before, snap(d))
	requireState(t, d, pool01, state{FailingBack, true})
}
