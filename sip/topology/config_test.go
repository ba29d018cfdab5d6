package topology

import (
	"fmt"
	"testing"
	"time"

	"github.com/pickupsim/pickupsim/park"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The standard topology loads with every pool normal and up, the documented defaults, and
// no warning.
func TestNewStandardTopology(t *testing.T) {
	d, warnings, err := New(standardTopology())
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Equal(t, []string{pool01, pool02}, d.Pools())
	for _, p := range d.Pools() {
		requireState(t, d, p, state{Normal, true})
		c, err := d.CPS(p)
		require.NoError(t, err)
		assert.Equal(t, park.DefaultCPSConfig(), c)
	}
	assert.Equal(t, DefaultDomain, d.Domain())
	assert.Equal(t, "contoso.com", d.Domain())
	assert.Equal(t, DefaultRegistrarFailoverTimer, d.Topology().RegistrarFailoverTimer)
	assert.Equal(t, 300*time.Second, DefaultRegistrarFailoverTimer)
	assert.Equal(t, map[string]string{"alice": "150", "bob": "150", "dave": "250", "erin": "250"}, d.groups.Assignments())
	assert.Len(t, d.Orbits(), 4)
}

func TestNewKeepsAnExplicitDomainAndTimer(t *testing.T) {
	d := newDeployment(t, func(topo *Topology) {
		topo.Domain = "fabrikam.com"
		topo.RegistrarFailoverTimer = 42 * time.Second
	})
	assert.Equal(t, "fabrikam.com", d.Domain())
	assert.Equal(t, 42*time.Second, d.Topology().RegistrarFailoverTimer)
}

// Each pool's Call Park application starts with the settings the topology gives it.
func TestNewUsesTheTopologysCPSSettings(t *testing.T) {
	custom := park.CPSConfig{CallPickupTimeoutThreshold: 30 * time.Second, MaxCallPickupAttempts: 3, OnTimeoutURI: "sip:operator@contoso.com"}
	d := newDeployment(t, func(topo *Topology) { topo.Pools[1].CPS = &custom })
	c, err := d.CPS(pool02)
	require.NoError(t, err)
	assert.Equal(t, custom, c)
	c, err = d.CPS(pool01)
	require.NoError(t, err)
	assert.Equal(t, park.DefaultCPSConfig(), c)
}

// Rule (SPEC section 1): New refuses a topology that breaks a rule, with an error wrapping
// ErrInvalidTopology that names the rule.
func TestRuleNewRejectsInvalidTopologies(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Topology)
		why    string
		is     error // a further sentinel the error wraps, if any
	}{
		{"pool without FQDN", func(t *Topology) { t.Pools = append(t.Pools, Pool{}) }, "a pool has no FQDN", nil},
		{"duplicate pool", func(t *Topology) { t.Pools = append(t.Pools, Pool{FQDN: pool01}) }, "pool " + pool01 + " is declared twice", nil},
		{"upper-case FQDN", func(t *Topology) {
			t.Pools = append(t.Pools, Pool{FQDN: "Pool03.contoso.com"})
		}, `pool FQDN "Pool03.contoso.com" must be written in lower case`, nil},
		{"self backup", func(t *Topology) {
			t.Pools = append(t.Pools, Pool{FQDN: pool03, Backup: pool03})
		}, "pool " + pool03 + " cannot back itself up", nil},
		{"unknown backup", func(t *Topology) {
			t.Pools = append(t.Pools, Pool{FQDN: pool03, Backup: "pool09.contoso.com"})
		}, "pool " + pool03 + ": backup pool pool09.contoso.com is not in the topology", nil},
		{"non-reciprocal: third pool claims a paired pool", func(t *Topology) {
			t.Pools = append(t.Pools, Pool{FQDN: pool03, Backup: pool01})
		}, "pool " + pool03 + " is backed up by " + pool01 + ", so " + pool01 + " must be backed up by " + pool03, nil},
		{"non-reciprocal: one side only", func(t *Topology) {
			t.Pools[1].Backup = ""
		}, "backup pairs are one-to-one and reciprocal", nil},
		{"negative registrar failover timer", func(t *Topology) { t.RegistrarFailoverTimer = -time.Second }, "registrar failover timer -1s is negative", nil},
		{"invalid CPS timeout", func(t *Topology) {
			t.Pools[0].CPS = &park.CPSConfig{CallPickupTimeoutThreshold: 5 * time.Second, MaxCallPickupAttempts: 1}
		}, "pool " + pool01 + ": ", park.ErrInvalidSetting},
		{"invalid CPS attempts", func(t *Topology) {
			t.Pools[1].CPS = &park.CPSConfig{CallPickupTimeoutThreshold: 90 * time.Second, MaxCallPickupAttempts: 11}
		}, "MaxCallPickupAttempts 11", park.ErrInvalidSetting},
		{"invalid CPS zero value", func(t *Topology) { t.Pools[1].CPS = &park.CPSConfig{} }, "CallPickupTimeoutThreshold", park.ErrInvalidSetting},
		{"invalid CPS OnTimeoutURI", func(t *Topology) {
			c := park.DefaultCPSConfig()
			c.OnTimeoutURI = "tel:+14255550100"
			t.Pools[1].CPS = &c
		}, "OnTimeoutURI", park.ErrInvalidSetting},
		{"duplicate user", func(t *Topology) {
			t.Users = append(t.Users, User{Name: "alice", HomePool: pool02})
		}, "user alice is declared twice", nil},
		{"user named park", func(t *Topology) { t.Users = append(t.Users, User{Name: "Park", HomePool: pool01}) }, `user name "Park" is reserved`, nil},
		{"empty user name", func(t *Topology) { t.Users = append(t.Users, User{HomePool: pool01}) }, `user name "" is not a valid SIP user part`, nil},
		{"user name with a space", func(t *Topology) {
			t.Users = append(t.Users, User{Name: "al ice", HomePool: pool01})
		}, `user name "al ice" is not a valid SIP user part`, nil},
		{"user name with @", func(t *Topology) {
			t.Users = append(t.Users, User{Name: "frank@contoso.com", HomePool: pool01})
		}, "not a valid SIP user part", nil},
		{"unknown home pool", func(t *Topology) {
			t.Users = append(t.Users, User{Name: "frank", HomePool: pool03})
		}, `user frank: home pool "` + pool03 + `" is not in the topology`, nil},
		{"no home pool", func(t *Topology) { t.Users = append(t.Users, User{Name: "frank"}) }, `user frank: home pool ""`, nil},
		{"pickup number outside any range", func(t *Topology) { t.Users[2].PickupNumber = "555" }, "enable group pickup for carol: 555 is not in any orbit range", nil},
		{"pickup number in a CallPark range", func(t *Topology) { t.Users[2].PickupNumber = "7050" },
			"7050 is in range " + rangePark01 + " of type CallPark, not GroupPickup", nil},
		{"orbit range of an unknown pool", func(t *Topology) {
			t.Orbits = append(t.Orbits, pickupRange("Stray", "400", "499", pool03))
		}, `no pool named "` + pool03 + `"`, nil},
		{"overlapping orbit ranges", func(t *Topology) {
			t.Orbits = append(t.Orbits, pickupRange("Overlap", "190", "209", pool01))
		}, "overlaps", park.ErrOverlap},
		{"invalid orbit number", func(t *Topology) {
			t.Orbits = append(t.Orbits, pickupRange("Zero", "0100", "0199", pool01))
		}, "the first digit must be 1-9", park.ErrInvalidNumber},
		{"duplicate orbit identity", func(t *Topology) {
			t.Orbits = append(t.Orbits, pickupRange(rangePickup01, "400", "499", pool01))
		}, rangePickup01, park.ErrDuplicateIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topo := standardTopology()
			tt.mutate(&topo)
			d, warnings, err := New(topo)
			require.ErrorIs(t, err, ErrInvalidTopology)
			assert.Contains(t, err.Error(), tt.why)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.Nil(t, d)
			assert.Nil(t, warnings)
		})
	}
}

// Legal topologies beyond the standard one.
func TestNewAcceptsValidVariants(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Topology)
	}{
		{"a pool without backup", func(t *Topology) { t.Pools = append(t.Pools, Pool{FQDN: pool03}) }},
		{"two pairs", func(t *Topology) {
			t.Pools = append(t.Pools, Pool{FQDN: pool03, Backup: "pool04.contoso.com"}, Pool{FQDN: "pool04.contoso.com", Backup: pool03})
		}},
		{"no users, no orbits", func(t *Topology) { t.Users, t.Orbits = nil, nil }},
		{"pickup number with a prefix", func(t *Topology) {
			t.Orbits = append(t.Orbits, pickupRange("Star", "*300", "*399", pool02))
			t.Users[2].PickupNumber = "*300"
		}},
		{"user names as SIP allows", func(t *Topology) {
			t.Users = append(t.Users, User{Name: "frank.o-neil_2+x", HomePool: pool01}, User{Name: "5551234", HomePool: pool02})
		}},
		{"extreme CPS settings", func(t *Topology) {
			t.Pools[0].CPS = &park.CPSConfig{CallPickupTimeoutThreshold: 10 * time.Second, MaxCallPickupAttempts: 10}
			t.Pools[1].CPS = &park.CPSConfig{CallPickupTimeoutThreshold: 10 * time.Minute, MaxCallPickupAttempts: 1, OnTimeoutURI: "sip:rgs@contoso.com"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topo := standardTopology()
			tt.mutate(&topo)
			_, _, err := New(topo)
			require.NoError(t, err)
		})
	}
}

// Rule (SPEC section 1): Group Call Pickup through a disaster needs the Call Park
// application in both pools of a pair; a topology where it is not gets a clear warning at
// load time, once per pair.
func TestRuleWarningCPSDisabledOnOneSideOfAPair(t *testing.T) {
	for _, disabled := range []int{0, 1} {
		topo := standardTopology()
		topo.Pools[disabled].CPSDisabled = true
		_, warnings, err := New(topo)
		require.NoError(t, err)
		require.Len(t, warnings, 1, "pool %d disabled", disabled)
		assert.Contains(t, string(warnings[0]), "the Call Park application must run in both "+pool01+" and "+pool02)
	}
	topo := standardTopology()
	topo.Pools[0].CPSDisabled = true
	topo.Pools[1].CPSDisabled = true
	_, warnings, err := New(topo)
	require.NoError(t, err)
	assert.Len(t, warnings, 1)
}

func TestWarningPoolWithoutBackup(t *testing.T) {
	_, warnings, err := New(Topology{Pools: []Pool{{FQDN: pool03}}})
	require.NoError(t, err)
	assert.Equal(t, []Warning{"pool " + pool03 + " has no backup pool: its users have no service during an outage"}, warnings)
}

// A range pointing at a pool the topology does not have (New and SetOrbit refuse to create
// one, so it is planted here) is reported, with the cmdlet that fixes it.
func TestWarningRangePointingAtUnknownPool(t *testing.T) {
	d := newDeployment(t)
	require.NoError(t, d.orbits.New(pickupRange("Stray", "400", "499", pool03)))
	assert.Equal(t, []Warning{
		"orbit range Stray points at " + pool03 + ", which is not a pool of this topology: reassign it with Set-CsCallParkOrbit",
	}, d.Warnings())
}

// Warnings come in a stable order: pools sorted, then ranges by identity.
func TestWarningsOrder(t *testing.T) {
	d := newDeployment(t, func(topo *Topology) {
		topo.Pools = append(topo.Pools, Pool{FQDN: "pool00.contoso.com"}, Pool{FQDN: pool03})
		topo.Pools[1].CPSDisabled = true
	})
	require.NoError(t, d.orbits.New(pickupRange("B-Stray", "400", "499", pool03+".old")))
	require.NoError(t, d.orbits.New(pickupRange("A-Stray", "500", "599", pool03+".old")))
	var got []string
	for _, w := range d.Warnings() {
		got = append(got, string(w)[:20])
	}
	assert.Equal(t, []string{"pool pool00.contoso.", "pool pool01.contoso.", "pool pool03.contoso.", "orbit range A-Stray ", "orbit range B-Stray "}, got)
}

func TestPoolsStartInTheirSavedPhase(t *testing.T) {
	tests := []struct {
		phase Phase
		down  bool
		ok    bool
	}{
		{Normal, false, true}, {Normal, true, false},
		{Outage, true, true}, {Outage, false, false},
		{FailingOver, true, true}, {FailingOver, false, true},
		{FailedOver, true, true}, {FailedOver, false, true},
		{FailingBack, false, true}, {FailingBack, true, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s down=%v", tt.phase, tt.down), func(t *testing.T) {
			topo := standardTopology()
			topo.Pools[0].Phase, topo.Pools[0].Down = tt.phase, tt.down
			d, _, err := New(topo)
			if !tt.ok {
				require.ErrorIs(t, err, ErrInvalidTopology)
				assert.Contains(t, err.Error(), "cannot start")
				return
			}
			require.NoError(t, err)
			phase, up, _ := d.Phase(topo.Pools[0].FQDN)
			assert.Equal(t, tt.phase, phase)
			assert.Equal(t, !tt.down, up)
		})
	}
}
