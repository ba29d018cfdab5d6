package topology

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/pickup"
)

// withPrivateLine gives alice the private line 4255550101.
func withPrivateLine(t *Topology) { t.Users[0].PrivateLine = "4255550101" }

// Plan for Group Call Pickup: "Group Call Pickup cannot be used to answer ... Calls to a
// private line". A private line is a second number of the user: dialling it rings the user,
// from any pool, and the call is reported blocked.
func TestPrivateLineRingsTheUserButIsNeverPickable(t *testing.T) {
	d := newDeployment(t, withPrivateLine)
	assert.Equal(t, Route{Kind: ToUser, User: "alice", PrivateLine: true}, d.Route(pool01, enterprise("carol"), "4255550101", t0))
	assert.Equal(t, Route{Kind: ToPool, Pool: pool01, User: "alice", PrivateLine: true}, d.Route(pool02, outsider, "4255550101;phone-context=x", t0))
	assert.Equal(t, Route{Kind: ToUser, User: "alice"}, d.Route(pool01, enterprise("carol"), "alice", t0), "her main line is pickable")

	q, ok := d.QueueAt(pool01, Ringing{Callee: "alice", PrivateLine: true}, t0)
	require.True(t, ok)
	assert.Equal(t, BlockPrivateLine, q.Blocked)
	assert.Contains(t, q.Why, "private line 4255550101")
}

func TestPrivateLineRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Topology)
		why    string
	}{
		{"not a number", func(t *Topology) { t.Users[0].PrivateLine = "alice2" }, "is not a phone number"},
		{"too short", func(t *Topology) { t.Users[0].PrivateLine = "12" }, "is not a phone number"},
		{"shared", func(t *Topology) { t.Users[0].PrivateLine, t.Users[1].PrivateLine = "5551234", "5551234" }, "same private line 5551234"},
		{"in an orbit range", func(t *Topology) { t.Users[0].PrivateLine = "7050" }, "private line 7050 is in orbit range " + rangePark01},
		{"a user's name", func(t *Topology) {
			t.Users = append(t.Users, User{Name: "5551234", HomePool: pool01})
			t.Users[0].PrivateLine = "5551234"
		}, "is the name of a user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topo := standardTopology()
			tt.mutate(&topo)
			_, _, err := New(topo)
			require.ErrorIs(t, err, ErrInvalidTopology)
			assert.Contains(t, err.Error(), tt.why)
		})
	}
	_, _, err := New(func() Topology { t := standardTopology(); t.Users[0].PrivateLine = "+14255550101"; return t }())
	assert.NoError(t, err, "an E.164 number")
}

// Issue 9.6: a pickup refused while a call rings a member of the group names the cause: the
// longest-ringing blocked call's. With nothing ringing at all, it is Lync's "Orbit not found".
func TestNothingPickableNamesTheCause(t *testing.T) {
	resiliency := pickup.Call{ID: "c1", Callee: "alice", Number: "150", Blocked: string(BlockResiliency), Why: "alice is in resiliency mode (home pool pool01 is down)"}
	private := pickup.Call{ID: "c2", Callee: "bob", Number: "150", Blocked: string(BlockPrivateLine), Why: "it is a call to bob's private line 5551234"}

	r := NothingPickable("150", []pickup.Call{resiliency, private})
	assert.Equal(t, 480, r.Code)
	assert.Zero(t, r.Diagnostic)
	assert.Contains(t, r.Warning, "the call ringing alice in group call pickup group 150 cannot be picked up")
	assert.Contains(t, r.Warning, "resiliency mode (home pool pool01 is down)")

	r = NothingPickable("150", []pickup.Call{private})
	assert.Equal(t, 404, r.Code)
	assert.Equal(t, DiagOrbitNotFound, r.Diagnostic)
	assert.Contains(t, r.Warning, "it is to bob's private line")

	assert.Equal(t, NothingToPickUp("150"), NothingPickable("150", nil))
	assert.Equal(t, NothingToPickUp("150"), NothingPickable("150", []pickup.Call{{Blocked: "unknown"}}))

	gone := PickedCallGone("150")
	assert.Equal(t, 404, gone.Code)
	assert.Contains(t, gone.Warning, "ended as it was being picked up")
}

// A private line in a GroupPickup range would route as a pickup: New refuses it like any
// orbit overlap.
func TestPrivateLineCannotBeAGroupNumber(t *testing.T) {
	topo := standardTopology()
	topo.Users[2].PrivateLine = "150"
	_, _, err := New(topo)
	require.ErrorIs(t, err, ErrInvalidTopology)
	assert.Contains(t, err.Error(), "in orbit range "+rangePickup01)
}
