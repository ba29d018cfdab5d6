package topology

import (
	"testing"
	"time"

	"github.com/pickupsim/pickupsim/park"
	"github.com/stretchr/testify/require"
)

// The standard two-pool topology of the tests: pool01 and pool02 back each other up.
const (
	pool01 = "pool01.contoso.com"
	pool02 = "pool02.contoso.com"
	pool03 = "pool03.contoso.com"

	rangePickup01 = "GroupPickup-pool01" // 100-199, GroupPickup, pool01
	rangePickup02 = "GroupPickup-pool02" // 200-299, GroupPickup, pool02
	rangePark01   = "CallPark-pool01"    // 7000-7099, CallPark, pool01
	rangePark02   = "CallPark-pool02"    // 8000-8099, CallPark, pool02
)

// t0 is "now" at the start of every test: the seed document's date. Never time.Now.
var t0 = time.Date(2015, 3, 9, 9, 0, 0, 0, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// standardTopology: alice, bob and carol on pool01 (alice and bob in pickup group 150, carol
// in none), dave and erin on pool02 (group 250).
func standardTopology() Topology {
	return Topology{
		Pools: []Pool{
			{FQDN: pool01, Backup: pool02},
			{FQDN: pool02, Backup: pool01},
		},
		Users: []User{
			{Name: "alice", HomePool: pool01, PickupNumber: "150"},
			{Name: "bob", HomePool: pool01, PickupNumber: "150"},
			{Name: "carol", HomePool: pool01},
			{Name: "dave", HomePool: pool02, PickupNumber: "250"},
			{Name: "erin", HomePool: pool02, PickupNumber: "250"},
		},
		Orbits: []park.OrbitRange{
			pickupRange(rangePickup01, "100", "199", pool01),
			pickupRange(rangePickup02, "200", "299", pool02),
			{Identity: rangePark01, NumberRangeStart: "7000", NumberRangeEnd: "7099", CallParkService: pool01, Type: park.CallPark},
			{Identity: rangePark02, NumberRangeStart: "8000", NumberRangeEnd: "8099", CallParkService: pool02, Type: park.CallPark},
		},
	}
}

func pickupRange(id, start, end, pool string) park.OrbitRange {
	return park.OrbitRange{Identity: id, NumberRangeStart: start, NumberRangeEnd: end, CallParkService: pool, Type: park.GroupPickup}
}

// newDeployment builds the standard topology, changed by each mutate, and fails the test if
// it is refused.
func newDeployment(t *testing.T, mutate ...func(*Topology)) *Deployment {
	t.Helper()
	topo := standardTopology()
	for _, m := range mutate {
		m(&topo)
	}
	d, _, err := New(topo)
	require.NoError(t, err)
	return d
}

// withAutoRedirect turns AutoRedirectOrbits on.
func withAutoRedirect(t *Topology) { t.AutoRedirectOrbits = true }

// event is one event on one pool at one time, for driving a deployment.
type event struct {
	pool string
	ev   Event
	at   time.Time
}

// apply runs events in order, failing the test if one is refused.
func apply(t *testing.T, d *Deployment, events ...event) {
	t.Helper()
	for _, e := range events {
		_, err := d.Apply(e.pool, e.ev, e.at)
		require.NoError(t, err, "%s on %s", e.ev, e.pool)
	}
}

// on returns the event ev on pool at t0.
func on(pool string, ev Event) event { return event{pool: pool, ev: ev, at: t0} }

// state is a pool's phase and whether it answers.
type state struct {
	phase Phase
	up    bool
}

func (s state) String() string {
	if s.up {
		return s.phase.String() + "/up"
	}
	return s.phase.String() + "/down"
}

// pathTo lists, for every reachable state of a pool, the events (all at t0) that lead
// there from normal/up. Normal/down, outage/up and failing-back/down cannot be reached
// (TestTransitionTableReachableStates).
var pathTo = map[state][]Event{
	{Normal, true}:       nil,
	{Outage, false}:      {PoolOutage},
	{FailingOver, false}: {PoolOutage, FailOverStart},
	{FailingOver, true}:  {PoolOutage, FailOverStart, PoolRecovery},
	{FailedOver, false}:  {PoolOutage, FailOverStart, FailOverComplete},
	{FailedOver, true}:   {PoolOutage, FailOverStart, FailOverComplete, PoolRecovery},
	{FailingBack, true}:  {PoolOutage, FailOverStart, FailOverComplete, PoolRecovery, FailBackStart},
}

// drive puts pool in state s by applying the events of pathTo at t0.
func drive(t *testing.T, d *Deployment, pool string, s state) {
	t.Helper()
	path, ok := pathTo[s]
	require.True(t, ok, "state %s is not reachable", s)
	for _, ev := range path {
		apply(t, d, on(pool, ev))
	}
	requireState(t, d, pool, s)
}

func requireState(t *testing.T, d *Deployment, pool string, s state) {
	t.Helper()
	ph, up, err := d.Phase(pool)
	require.NoError(t, err)
	require.Equal(t, s, state{ph, up}, "state of %s", pool)
}

// snapshot is everything Apply may change, to check that a refused event changed nothing.
type snapshot struct {
	pools      map[string]poolState
	orbits     []park.OrbitRange
	groups     map[string]string
	redirected map[string][]string
	cps        map[string]park.CPSConfig
}

func snap(d *Deployment) snapshot {
	s := snapshot{pools: map[string]poolState{}, redirected: map[string][]string{}, cps: map[string]park.CPSConfig{}}
	for p, st := range d.pools {
		s.pools[p] = *st
	}
	s.orbits = d.Orbits()
	s.groups = d.groups.Assignments()
	for p, ids := range d.redirected {
		s.redirected[p] = append([]string(nil), ids...)
	}
	for p, c := range d.cps {
		s.cps[p] = c
	}
	return s
}

// owner returns the CallParkService of an orbit range.
func owner(t *testing.T, d *Deployment, identity string) string {
	t.Helper()
	r, ok := d.Orbit(identity)
	require.True(t, ok, "orbit range %s", identity)
	return r.CallParkService
}

// redirect runs Set-CsCallParkOrbit -CallParkService pool on identity.
func redirect(t *testing.T, d *Deployment, identity, pool string) {
	t.Helper()
	require.NoError(t, d.SetOrbit(identity, park.OrbitChange{CallParkService: &pool}))
}

// enterprise is a caller who is a user of the deployment.
func enterprise(user string) Caller { return Caller{User: user} }

// outsider is a caller from outside the enterprise.
var outsider = Caller{}
