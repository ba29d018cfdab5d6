package sip

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/topology"
)

func TestDisablingAUsersGroupPickupStopsQueueingItsCalls(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol")
	require.NoError(t, l.net.DisableGroupPickup("bob"))
	l.ring("alice", "bob")
	assert.Zero(t, l.net.QueueLength("100"))
	assert.Equal(t, 404, l.dialFails("carol", "100").Code)

	require.NoError(t, l.net.EnableGroupPickup("bob", "150"))
	l.ring("alice", "bob")
	assert.Equal(t, 1, l.net.QueueLength("150"), "SEFAUtil /enablegrouppickup:150 puts bob in group 150")
	l.pickUp("carol", "150", "alice")

	assert.Error(t, l.net.EnableGroupPickup("bob", "7001"), "7001 is a CallPark orbit, not a GroupPickup number")
	assert.Error(t, l.net.DisableGroupPickup("dave"), "dave has no group")
}

func TestOrbitRangeCmdletsChangeRouting(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol")

	require.NoError(t, l.net.RemoveCallParkOrbit("pickup-pool01"))
	o := l.dialFails("carol", "100")
	assert.Equal(t, 404, o.Code, "without its range, 100 is no number at all")

	err := l.net.NewCallParkOrbit(park.OrbitRange{Identity: "overlap", NumberRangeStart: "7050",
		NumberRangeEnd: "7150", CallParkService: pool01})
	require.ErrorIs(t, err, park.ErrOverlap)
	before := l.net.CallParkOrbits()
	require.Error(t, l.net.RedirectCallParkOrbit("park-pool01", "pool09.contoso.com"))
	assert.Equal(t, before, l.net.CallParkOrbits(), "a refused change leaves the table as it was")

	require.NoError(t, l.net.NewCallParkOrbit(park.OrbitRange{Identity: "pickup-again", NumberRangeStart: "100",
		NumberRangeEnd: "149", CallParkService: pool01, Type: park.GroupPickup}))
	l.ring("alice", "bob")
	l.pickUp("carol", "100", "alice")
}

func TestAutoRedirectOrbitsLetsPhonesPickUpAfterFailoverWithoutTheRunbookStep(t *testing.T) {
	topo := labTopology()
	topo.AutoRedirectOrbits = true
	l := newLab(t, topo)
	l.registerAll("alice", "bob", "carol")
	l.outageAndTimer()
	require.NoError(t, l.net.InvokeFailOver(pool01))
	require.NoError(t, l.net.CompleteFailOver(pool01))
	l.reregister(topology.NormalMode, pool02, "alice", "bob", "carol")
	l.ring("alice", "bob")
	l.pickUp("carol", "100", "alice")
	for _, r := range l.net.CallParkOrbits() {
		if r.Identity == "pickup-pool01" {
			assert.Equal(t, pool02, r.CallParkService)
		}
		if r.Identity == "park-pool01" {
			assert.Equal(t, pool01, r.CallParkService, "CallPark ranges are left alone")
		}
	}
}

// One cmdlet vocabulary (issue 12): the Go API reads pool and user names as the admin API
// and the scenario steps do, and refuses what they refuse.
func TestCmdletsReadNamesAsEveryCallerDoes(t *testing.T) {
	l := newLab(t, labTopology())
	service := "service:ApplicationServer:POOL02.contoso.com"
	require.NoError(t, l.net.SetCallParkOrbit("park-pool01", park.OrbitChange{CallParkService: &service}))
	got, ok := l.net.CallParkOrbit("PARK-POOL01")
	require.True(t, ok)
	assert.Equal(t, pool02, got.CallParkService)
	require.ErrorIs(t, l.net.SetCallParkOrbit("park-pool01", park.OrbitChange{}), park.ErrNoChange, "an empty change is refused")

	require.NoError(t, l.net.EnableGroupPickup("sip:alice@contoso.com", "100;phone-context=user-default"))
	number, err := l.net.GroupPickupUserOrbit("alice@contoso.com")
	require.NoError(t, err)
	assert.Equal(t, "100", number)

	attempts := 2
	cps, err := l.net.SetCpsConfiguration("pool01", park.CPSChange{MaxCallPickupAttempts: &attempts})
	require.NoError(t, err)
	assert.Equal(t, 2, cps.MaxCallPickupAttempts)
	cps, err = l.net.CpsConfiguration("POOL01.contoso.com")
	require.NoError(t, err)
	assert.Equal(t, 2, cps.MaxCallPickupAttempts)

	require.NoError(t, l.net.Outage("pool02"))
	assert.Equal(t, topology.Outage, l.net.Pools()[1].Phase)
	require.ErrorIs(t, l.net.Recover("pool09"), ErrUnknownPool)
}
