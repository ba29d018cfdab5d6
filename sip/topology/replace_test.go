package topology

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplacePoolSteps(t *testing.T) {
	d := newDeployment(t)
	p1, p2, p3 := "pool01.contoso.com", "pool02.contoso.com", "pool03.contoso.com"

	require.Error(t, d.AddPool(Pool{FQDN: p1}), "duplicate FQDN")
	require.Error(t, d.AddPool(Pool{FQDN: "Pool03.contoso.com"}), "FQDNs are lower case")
	require.NoError(t, d.AddPool(Pool{FQDN: p3, Backup: p1}))
	c, _ := d.PoolConfig(p3)
	assert.Empty(t, c.Backup, "a new pool starts unpaired")

	_, err := d.MoveUsers(p1, "pool09.contoso.com")
	require.Error(t, err, "unknown target")
	require.Error(t, d.RemovePool(p1), "pool01 is up")
	apply(t, d, on(p1, PoolOutage))
	err = d.RemovePool(p1)
	require.Error(t, err, "pool01 still has users")
	assert.Contains(t, err.Error(), "Move-CsUser")

	moved, err := d.MoveUsers(p1, p3)
	require.NoError(t, err)
	assert.NotEmpty(t, moved)
	assert.Empty(t, d.UsersOf(p1))
	require.NoError(t, d.RemovePool(p1))
	c, _ = d.PoolConfig(p2)
	assert.Empty(t, c.Backup, "the removed pool's partner is left unpaired")
	assert.NotEmpty(t, d.Warnings())

	require.Error(t, d.PairPools(p3, p3))
	require.NoError(t, d.PairPools(p3, p2))
	c, _ = d.PoolConfig(p2)
	assert.Equal(t, p3, c.Backup)
	require.NoError(t, d.AddPool(Pool{FQDN: "pool04.contoso.com"}))
	require.Error(t, d.PairPools("pool04.contoso.com", p2), "pool02 already has a partner")

	ids, err := d.ReassignOrbits(p1, p3)
	require.NoError(t, err)
	assert.NotEmpty(t, ids)
	for _, r := range d.Orbits() {
		assert.NotEqual(t, p1, r.CallParkService)
	}
	_, err = d.ReassignOrbits(p1, "pool09.contoso.com")
	require.Error(t, err)
}
