package topology

import (
	"testing"
	"time"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/pickup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// New-CsCallParkOrbit: the owning pool must be a pool of the topology; the orbit table's own
// rules apply, and a refused range changes nothing.
func TestNewOrbit(t *testing.T) {
	tests := []struct {
		name string
		r    park.OrbitRange
		why  string
		is   error
	}{
		{"unknown pool", pickupRange("New", "400", "499", pool03), `CallParkService ` + pool03 + `: no pool named "` + pool03 + `"`, nil},
		{"no pool", pickupRange("New", "400", "499", ""), "New-CsCallParkOrbit", park.ErrMissingService},
		{"overlap", pickupRange("New", "150", "160", pool02), "overlaps", park.ErrOverlap},
		{"duplicate identity", pickupRange(rangePickup02, "400", "499", pool02), "New-CsCallParkOrbit", park.ErrDuplicateIdentity},
		{"too large", pickupRange("New", "10000", "20000", pool02), "10001", park.ErrRangeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeployment(t)
			before := d.Orbits()
			err := d.NewOrbit(tt.r)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.why)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.Equal(t, before, d.Orbits())
		})
	}
}

// A new range is routed at once.
func TestNewOrbitIsRouted(t *testing.T) {
	d := newDeployment(t)
	require.NoError(t, d.NewOrbit(pickupRange("New", "400", "499", pool02)))
	r, ok := d.LookupOrbit("450")
	require.True(t, ok)
	assert.Equal(t, "New", r.Identity)
	assert.Equal(t, orbitRoute(d, ToPool, pool02, "450", "New"), d.Route(pool01, enterprise("alice"), "450", t0))
}

// Lync accepts the pool by its service ID, and pool names regardless of case, as DNS does;
// the orbit table stores the bare lower-case FQDN, which routing then finds.
func TestOrbitServiceNamedLikeLyncDoes(t *testing.T) {
	d := newDeployment(t)
	require.NoError(t, d.NewOrbit(pickupRange("BySvcID", "400", "499", "ApplicationServer:"+pool02)))
	assert.Equal(t, pool02, owner(t, d, "BySvcID"))
	assert.Equal(t, ToPool, d.Route(pool01, enterprise("alice"), "450", t0).Kind)

	redirect(t, d, rangePickup01, "POOL02.Contoso.com")
	assert.Equal(t, pool02, owner(t, d, rangePickup01))
	assert.Equal(t, orbitRoute(d, ToPickup, "", "150", rangePickup01), d.Route(pool02, enterprise("dave"), "150", t0))
	assert.Empty(t, d.Warnings())
}

// Set-CsCallParkOrbit: a new owning pool must exist; the orbit table's rules apply; a
// refused change changes nothing.
func TestSetOrbit(t *testing.T) {
	ptr := func(s string) *string { return &s }
	tests := []struct {
		name     string
		identity string
		c        park.OrbitChange
		why      string
		is       error
	}{
		{"unknown pool", rangePickup01, park.OrbitChange{CallParkService: ptr(pool03)}, `Set-CsCallParkOrbit ` + rangePickup01 + `: CallParkService ` + pool03, nil},
		{"empty pool", rangePickup01, park.OrbitChange{CallParkService: ptr("")}, `no pool named ""`, nil},
		{"unknown identity", "Nope", park.OrbitChange{CallParkService: ptr(pool02)}, "Set-CsCallParkOrbit", park.ErrUnknownIdentity},
		{"overlap", rangePickup01, park.OrbitChange{NumberRangeEnd: ptr("250")}, "overlaps", park.ErrOverlap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeployment(t)
			before := d.Orbits()
			err := d.SetOrbit(tt.identity, tt.c)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.why)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.Equal(t, before, d.Orbits())
		})
	}
}

// Remove-CsCallParkOrbit: the numbers are freed; an unknown identity is an error.
func TestRemoveOrbit(t *testing.T) {
	d := newDeployment(t)
	require.NoError(t, d.RemoveOrbit(rangePark01))
	_, ok := d.Orbit(rangePark01)
	assert.False(t, ok)
	_, ok = d.LookupOrbit("7050")
	assert.False(t, ok)
	rejected(t, d.Route(pool01, enterprise("alice"), "7050", t0), 404, 0, "7050")

	err := d.RemoveOrbit(rangePark01)
	require.ErrorIs(t, err, park.ErrUnknownIdentity)
	assert.Contains(t, err.Error(), "Remove-CsCallParkOrbit")
}

// Get-CsCallParkOrbit, and the lookup of a dialled number with its URI parameters.
func TestOrbitQueries(t *testing.T) {
	d := newDeployment(t)
	var ids []string
	for _, r := range d.Orbits() {
		ids = append(ids, r.Identity)
	}
	assert.Equal(t, []string{rangePark01, rangePark02, rangePickup01, rangePickup02}, ids)

	r, ok := d.Orbit("groupPICKUP-pool01")
	require.True(t, ok, "identities ignore case")
	assert.Equal(t, pickupRange(rangePickup01, "100", "199", pool01), r)

	r, ok = d.LookupOrbit("199;phone-context=user-default")
	require.True(t, ok)
	assert.Equal(t, rangePickup01, r.Identity)
	for _, n := range []string{"99", "300", "alice", "", "+14255550100"} {
		_, ok := d.LookupOrbit(n)
		assert.False(t, ok, n)
	}
}

// SEFAUtil /enablegrouppickup:<n>: the number must be in a GroupPickup range; the new
// number replaces the old one.
func TestEnableGroupPickup(t *testing.T) {
	tests := []struct {
		name, user, number string
		why                string
	}{
		{"unknown user", "mallory", "150", `enable group pickup: no user named "mallory"`},
		{"number in no range", "carol", "555", "enable group pickup for carol: 555 is not in any orbit range"},
		{"empty number", "carol", "", "is not in any orbit range"},
		{"CallPark range", "carol", "7050", "7050 is in range " + rangePark01 + " of type CallPark, not GroupPickup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeployment(t)
			before := d.groups.Assignments()
			err := d.EnableGroupPickup(tt.user, tt.number)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.why)
			assert.Equal(t, before, d.groups.Assignments())
		})
	}

	t.Run("replaces the old number", func(t *testing.T) {
		d := newDeployment(t)
		require.NoError(t, d.EnableGroupPickup("alice", "250"))
		n, ok := d.PickupNumber("alice")
		require.True(t, ok)
		assert.Equal(t, "250", n)
		assert.Equal(t, []string{"bob"}, d.groups.Members("150"))
		assert.Equal(t, []string{"alice", "dave", "erin"}, d.groups.Members("250"))
	})
	t.Run("URI parameters are not part of the number", func(t *testing.T) {
		d := newDeployment(t, func(topo *Topology) { topo.PickupMembersOnly = true })
		require.NoError(t, d.EnableGroupPickup("carol", "150;phone-context=user-default"))
		n, ok := d.PickupNumber("carol")
		require.True(t, ok)
		assert.Equal(t, "150", n)
		assert.Equal(t, "150", queuedFor(d, pool01, "carol"))
		assert.Equal(t, ToPickup, d.Route(pool01, enterprise("carol"), "150", t0).Kind, "carol is a member of 150")
	})
}

// queuedFor is the number user's calls at pool are queued under, or "".
func queuedFor(d *Deployment, pool, user string) string {
	q, _ := d.QueueAt(pool, Ringing{Callee: user}, t0)
	return q.Number
}

// SEFAUtil /disablegrouppickup.
func TestDisableGroupPickup(t *testing.T) {
	d := newDeployment(t)
	require.NoError(t, d.DisableGroupPickup("alice"))
	_, ok := d.PickupNumber("alice")
	assert.False(t, ok)
	assert.Empty(t, queuedFor(d, pool01, "alice"), "alice's calls are no longer queued")

	err := d.DisableGroupPickup("alice")
	require.ErrorIs(t, err, pickup.ErrNoGroup, "twice")
	assert.Contains(t, err.Error(), "disable group pickup")

	err = d.DisableGroupPickup("carol")
	require.ErrorIs(t, err, pickup.ErrNoGroup, "never in a group")
	assert.Contains(t, err.Error(), "carol")

	err = d.DisableGroupPickup("mallory")
	require.Error(t, err)
	assert.NotErrorIs(t, err, pickup.ErrNoGroup)
	assert.Contains(t, err.Error(), `no user named "mallory"`)
}

// Set-CsCpsConfiguration: invalid settings or an unknown pool change nothing.
func TestSetCPS(t *testing.T) {
	valid := park.CPSConfig{CallPickupTimeoutThreshold: 45 * time.Second, MaxCallPickupAttempts: 2, OnTimeoutURI: "sip:operator@contoso.com"}
	tests := []struct {
		name string
		pool string
		c    park.CPSConfig
		why  string
		is   error
	}{
		{"unknown pool", pool03, valid, `Set-CsCpsConfiguration: no pool named "` + pool03 + `"`, nil},
		{"timeout too short", pool01, park.CPSConfig{CallPickupTimeoutThreshold: 9 * time.Second, MaxCallPickupAttempts: 1}, "Set-CsCpsConfiguration " + pool01, park.ErrInvalidSetting},
		{"timeout too long", pool01, park.CPSConfig{CallPickupTimeoutThreshold: 11 * time.Minute, MaxCallPickupAttempts: 1}, "CallPickupTimeoutThreshold", park.ErrInvalidSetting},
		{"no attempts", pool02, park.CPSConfig{CallPickupTimeoutThreshold: time.Minute}, "MaxCallPickupAttempts 0", park.ErrInvalidSetting},
		{"bad URI", pool02, park.CPSConfig{CallPickupTimeoutThreshold: time.Minute, MaxCallPickupAttempts: 1, OnTimeoutURI: "operator"}, "OnTimeoutURI", park.ErrInvalidSetting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeployment(t)
			before := snap(d)
			_, err := d.SetCPS(tt.pool, park.AllOf(tt.c))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.why)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.Equal(t, before, snap(d))
		})
	}
	t.Run("valid", func(t *testing.T) {
		d := newDeployment(t)
		got, err := d.SetCPS(pool02, park.AllOf(valid))
		require.NoError(t, err)
		assert.Equal(t, valid, got)
		c, err := d.CPS(pool02)
		require.NoError(t, err)
		assert.Equal(t, valid, c)
		c, err = d.CPS(pool01)
		require.NoError(t, err)
		assert.Equal(t, park.DefaultCPSConfig(), c, "per pool")
	})
	t.Run("a change keeps what it does not name", func(t *testing.T) {
		d := newDeployment(t)
		_, err := d.SetCPS(pool02, park.AllOf(valid))
		require.NoError(t, err)
		five := 5
		got, err := d.SetCPS(pool02, park.CPSChange{MaxCallPickupAttempts: &five})
		require.NoError(t, err)
		want := valid
		want.MaxCallPickupAttempts = 5
		assert.Equal(t, want, got, "Set-CsCpsConfiguration -MaxCallPickupAttempts 5 keeps the timeout and fallback URI")
		c, _ := d.CPS(pool02)
		assert.Equal(t, want, c)
	})
	t.Run("a change that names nothing is refused", func(t *testing.T) {
		d := newDeployment(t)
		_, err := d.SetCPS(pool01, park.CPSChange{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no setting given")
	})
	t.Run("CPS of an unknown pool", func(t *testing.T) {
		d := newDeployment(t)
		_, err := d.CPS(pool03)
		require.Error(t, err)
		assert.Contains(t, err.Error(), pool03)
	})
}
