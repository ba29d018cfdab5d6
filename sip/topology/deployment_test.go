package topology

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeploymentAccessors(t *testing.T) {
	d := newDeployment(t, func(topo *Topology) {
		topo.Pools = append(topo.Pools, Pool{FQDN: "pool00.contoso.com", Address: "127.0.0.1:5070"})
	})
	assert.Equal(t, []string{"pool00.contoso.com", pool01, pool02}, d.Pools())

	p, ok := d.PoolConfig("pool00.contoso.com")
	require.True(t, ok)
	assert.Equal(t, Pool{FQDN: "pool00.contoso.com", Address: "127.0.0.1:5070"}, p)
	p, ok = d.PoolConfig(pool01)
	require.True(t, ok)
	assert.Equal(t, pool02, p.Backup)
	_, ok = d.PoolConfig(pool03)
	assert.False(t, ok)

	_, _, err := d.Phase(pool03)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no pool named "`+pool03+`"`)

	u, ok := d.User("alice")
	require.True(t, ok)
	assert.Equal(t, User{Name: "alice", HomePool: pool01, PickupNumber: "150"}, u)
	_, ok = d.User("mallory")
	assert.False(t, ok)

	assert.Equal(t, allUsers, d.Users())
	assert.Equal(t, usersOf01, d.UsersOf(pool01))
	assert.Equal(t, []string{"dave", "erin"}, d.UsersOf(pool02))
	assert.Empty(t, d.UsersOf("pool00.contoso.com"))
	assert.Empty(t, d.UsersOf(pool03))

	assert.Len(t, d.Topology().Pools, 3)
	assert.Len(t, d.Topology().Users, 5)
}

// A user's pickup number stays in the static description (Topology) even after SEFAUtil
// changes it; the live number is PickupNumber.
func TestPickupNumberIsLive(t *testing.T) {
	d := newDeployment(t)
	require.NoError(t, d.EnableGroupPickup("alice", "250"))
	n, ok := d.PickupNumber("alice")
	require.True(t, ok)
	assert.Equal(t, "250", n)
	_, ok = d.PickupNumber("carol")
	assert.False(t, ok)
}
