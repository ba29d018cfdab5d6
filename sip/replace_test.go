package sip

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/topology"
)

const pool03 = "pool03.contoso.com"

// TestReplacingAPoolWithANewFQDN follows the seed: "If you deploy a new pool with a
// different FQDN to replace the primary pool, you need to reassign all the Group Call
// Pickup number ranges that were associated with the primary pool to the FQDN of the new
// pool."
func TestReplacingAPoolWithANewFQDN(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("alice", "bob", "carol", "dave")
	l.outageAndTimer()
	require.NoError(t, l.net.InvokeFailOver(pool01))
	require.NoError(t, l.net.CompleteFailOver(pool01))

	require.NoError(t, l.net.AddPool(topology.Pool{FQDN: pool03}))
	moved, err := l.net.MoveUsers(pool01, pool03)
	require.NoError(t, err)
	assert.Equal(t, []string{"alice", "bob", "carol", "dave"}, moved)
	require.NoError(t, l.net.RemovePool(pool01))
	require.NoError(t, l.net.PairPools(pool03, pool02))

	warnings := l.net.Warnings()
	require.Len(t, warnings, 2, "both of pool01's ranges point at a pool that no longer exists")
	assert.Contains(t, string(warnings[0])+string(warnings[1]), "pickup-pool01")

	l.reregister(topology.NormalMode, pool03, "alice", "bob", "carol", "dave")
	l.ring("alice", "bob")
	o := l.dialFails("carol", "100")
	assert.Equal(t, 503, o.Code, "the group's range still names the old FQDN")
	assert.Contains(t, o.Warning, "not a pool of this topology")

	ids, err := l.net.ReassignOrbits(pool01, pool03)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"pickup-pool01", "park-pool01"}, ids)
	assert.Empty(t, l.net.Warnings())

	l.ring("dave", "bob")
	l.pickUp("carol", "100", "dave")

	orbit := l.park("alice", "dave")
	assert.Equal(t, "7000", orbit, "the old pool's CallPark range now parks on the new pool")
	cps, err := func() (park.CPSConfig, error) {
		var c park.CPSConfig
		var err error
		l.net.Deployment(func(d *topology.Deployment) { c, err = d.CPS(pool03) })
		return c, err
	}()
	require.NoError(t, err)
	assert.Equal(t, park.DefaultCPSConfig(), cps, "CPS settings of the new pool start at defaults")
}

func TestRemovingAPoolThatStillHasUsersIsRefused(t *testing.T) {
	l := newLab(t, labTopology())
	require.NoError(t, l.net.Outage(pool01))
	err := l.net.RemovePool(pool01)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Move-CsUser")
	_, ok := l.net.Pool(pool01)
	assert.True(t, ok)
}
