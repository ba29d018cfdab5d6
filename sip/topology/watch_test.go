package topology

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What a dialog SUBSCRIBE's Request-URI names: orbits, whole CallPark ranges, group
// numbers, users (and private lines, for their user); anything else is no lamp at all.
func TestResolveWatch(t *testing.T) {
	d := newDeployment(t, func(tp *Topology) { tp.Users[2].PrivateLine = "5551234" })
	for _, c := range []struct {
		target string
		want   Watched
		code   int
	}{
		{"bob", Watched{WatchUser, "bob"}, 0},
		{"5551234", Watched{WatchUser, "carol"}, 0},
		{"7000", Watched{WatchOrbit, "7000"}, 0},
		{"7000;phone-context=user-default", Watched{WatchOrbit, "7000"}, 0},
		{"150", Watched{WatchGroup, "150"}, 0},
		{"199", Watched{WatchGroup, "199"}, 0}, // a number of the range nobody has yet: an empty group
		{"callpark-POOL01", Watched{WatchParkRange, rangePark01}, 0},
		{rangePickup01, Watched{}, 404}, // a GroupPickup range is watched number by number
		{"zed", Watched{}, 404},
		{"9000", Watched{}, 404},
	} {
		t.Run(c.target, func(t *testing.T) {
			w, rej := d.ResolveWatch(c.target)
			if c.code != 0 {
				require.NotNil(t, rej)
				assert.Equal(t, c.code, rej.Code)
				return
			}
			require.Nil(t, rej)
			assert.Equal(t, c.want, w)
		})
	}
}

// Only enterprise users watch, and where pickup is for members only, only members watch
// a group.
func TestMayWatch(t *testing.T) {
	d := newDeployment(t)
	assert.Nil(t, d.MayWatch(enterprise("carol"), Watched{WatchUser, "bob"}))
	assert.Nil(t, d.MayWatch(enterprise("carol"), Watched{WatchGroup, "150"}))
	assert.Equal(t, 403, d.MayWatch(outsider, Watched{WatchUser, "bob"}).Code)
	members := newDeployment(t, func(tp *Topology) { tp.PickupMembersOnly = true })
	assert.Equal(t, 403, members.MayWatch(enterprise("carol"), Watched{WatchGroup, "150"}).Code)
	assert.Nil(t, members.MayWatch(enterprise("alice"), Watched{WatchGroup, "150"}))
	assert.Nil(t, members.MayWatch(enterprise("carol"), Watched{WatchOrbit, "7000"}))
}

// What a lamp may show in each disaster-recovery phase: which pool's memory holds the
// dialogs of a user of pool01, of pool01's park orbit and park range, and of pool01's
// group, through the seed's runbook. Where no pool holds them the lamp is "unknown", never
// what it showed before.
func TestWatchSourceThroughTheRunbook(t *testing.T) {
	d := newDeployment(t)
	bob := Watched{WatchUser, "bob"}
	orbit := Watched{WatchOrbit, "7000"}
	parkRange := Watched{WatchParkRange, rangePark01}
	group := Watched{WatchGroup, "150"}
	dave := Watched{WatchUser, "dave"}
	type want struct{ bob, orbit, group, dave string } // "" when unknown
	check := func(step string, now time.Time, w want) {
		t.Helper()
		for _, c := range []struct {
			w    Watched
			pool string
		}{{bob, w.bob}, {orbit, w.orbit}, {parkRange, w.orbit}, {group, w.group}, {dave, w.dave}} {
			src := d.WatchSource(c.w, now)
			assert.Equal(t, c.pool, src.Pool, "%s: %s", step, c.w)
			if c.pool == "" {
				assert.NotEmpty(t, src.Why, "%s: %s unknown says why", step, c.w)
			}
		}
	}
	check("normal", t0, want{pool01, pool01, pool01, pool02})

	apply(t, d, on(pool01, PoolOutage))
	check("outage, registrar timer running", at(time.Minute), want{"", "", "", pool02})
	src := d.WatchSource(bob, at(time.Minute))
	assert.Equal(t, 4*time.Minute, src.RetryAfter, "the lamp's source changes when the timer runs out")
	check("outage, timer run out: bob on pool02 in resiliency mode", at(5*time.Minute), want{pool02, "", "", pool02})

	apply(t, d, event{pool01, FailOverStart, at(6 * time.Minute)})
	check("failing over", at(6*time.Minute), want{pool02, "", "", pool02})
	apply(t, d, event{pool01, FailOverComplete, at(7 * time.Minute)})
	check("failed over, ranges not redirected", at(7*time.Minute), want{pool02, "", "", pool02})
	redirect(t, d, rangePark01, pool02)
	redirect(t, d, rangePickup01, pool02)
	check("failed over, ranges redirected", at(7*time.Minute), want{pool02, pool02, pool02, pool02})

	apply(t, d, event{pool01, PoolRecovery, at(8 * time.Minute)}, event{pool01, FailBackStart, at(9 * time.Minute)})
	check("failing back", at(9*time.Minute), want{pool01, pool02, pool02, pool02})
	apply(t, d, event{pool01, FailBackComplete, at(10 * time.Minute)})
	// The group's range left on the backup is displaced: it refuses pickups (503/35011) until
	// redirected back, so its lamp is unknown; the Call Park range still parks on pool02.
	check("failed back, ranges still on pool02", at(10*time.Minute), want{pool01, pool02, "", pool02})
	redirect(t, d, rangePark01, pool01)
	redirect(t, d, rangePickup01, pool01)
	check("normal again", at(10*time.Minute), want{pool01, pool01, pool01, pool02})

	require.NoError(t, d.RemoveOrbit(rangePark01))
	assert.False(t, d.WatchSource(parkRange, at(11*time.Minute)).Known(), "a removed range is no lamp's source")
	assert.False(t, d.WatchSource(orbit, at(11*time.Minute)).Known())
}

// The orbits a park lamp covers: its own, or every orbit of the range.
func TestWatchedOrbits(t *testing.T) {
	d := newDeployment(t)
	assert.Equal(t, []string{"7000"}, d.WatchedOrbits(Watched{WatchOrbit, "7000"}))
	assert.Len(t, d.WatchedOrbits(Watched{WatchParkRange, rangePark01}), 100)
	assert.Empty(t, d.WatchedOrbits(Watched{WatchUser, "bob"}))
}
