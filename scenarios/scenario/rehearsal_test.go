package scenario

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
)

func TestRehearsalFileIsReadWithItsDefaults(t *testing.T) {
	rh, err := ParseRehearsal("r.load.yaml", []byte(`
population: {usersPerPool: 1000, groupSize: 10, tcp: 5%}
traffic: {calls: 600/min, pickedUp: 30%, rtpCalls: 4}
timeline:
  - phase: normal
    for: 10s
    expect:
      - pickups: {succeed: ">= 99.9%", p99: "<= 200ms"}
      - rtp: {lost: 0}
  - phase: failing-over
    do: [outage: pool01, failover: pool01]
    for: 5s
    expect:
      - pickups: {by: pool01, refused: 480}
      - registrations: {backWithin: 12s}
`))
	require.NoError(t, err)
	assert.Equal(t, "r", rh.Name)
	p := rh.Population
	assert.Equal(t, 2, p.Pools)
	assert.Equal(t, 0.05, p.TCP)
	assert.Equal(t, 10.0, rh.Traffic.Calls, "600/min is 10 a second")
	require.Len(t, rh.Phases, 2)
	fo := rh.Phases[1]
	require.Len(t, fo.Do, 2)
	assert.Equal(t, Outage, fo.Do[0].Kind)
	assert.Equal(t, "pool01.contoso.com", fo.Do[1].Pool)
	e := fo.Expect[0]
	assert.Equal(t, "pool01.contoso.com", e.By)
	assert.Equal(t, 480, e.Refused)
	assert.Equal(t, 1, e.Min, "an expectation needs at least one attempt unless told otherwise")
	assert.Equal(t, 12*time.Second, fo.Expect[1].BackWithin)
	n := rh.Phases[0].Expect[0]
	assert.True(t, n.Succeed.Holds(99.95))
	assert.False(t, n.Succeed.Holds(99.8))
	assert.True(t, n.P99.Holds(0.2))
	assert.False(t, n.P99.Holds(0.21))
	assert.True(t, rh.Phases[0].Expect[1].Lost.Holds(0))
	assert.False(t, rh.Phases[0].Expect[1].Lost.Holds(1))
}

func TestRehearsalPopulationGeneratesAValidTopology(t *testing.T) {
	p := Population{Domain: "contoso.com", Pools: 4, UsersPerPool: 25, GroupSize: 10}
	topo := p.Topology()
	assert.Len(t, topo.Users, 100)
	assert.Equal(t, "p03u00001", topo.Users[50].Name)
	assert.Equal(t, "pool03.contoso.com", topo.Users[50].HomePool)
	assert.Equal(t, "30000", topo.Users[50].PickupNumber)
	assert.Equal(t, "30002", topo.Users[74].PickupNumber, "the last, smaller group")
	assert.Equal(t, "pool04.contoso.com", topo.Pools[2].Backup)
	require.Len(t, topo.Orbits, 8)
	assert.Equal(t, park.OrbitRange{Identity: "pickup-pool03", NumberRangeStart: "30000", NumberRangeEnd: "30002",
		CallParkService: "pool03.contoso.com", Type: park.GroupPickup}, topo.Orbits[4])
	assert.Equal(t, "903000", topo.Orbits[5].NumberRangeStart)
}

func TestRehearsalMistakesAreReportedWithTheirLines(t *testing.T) {
	for name, tc := range map[string]struct{ file, want string }{
		"odd pools":        {"population: {usersPerPool: 10, pools: 3}\ntraffic: {calls: 1/s}\ntimeline: [{phase: a, for: 1s}]\n", "r.load.yaml:1: pools must be even"},
		"bad share":        {"population: {usersPerPool: 10, tcp: 5}\ntraffic: {calls: 1/s}\ntimeline: [{phase: a, for: 1s}]\n", `r.load.yaml:1: tcp "5" must be a share between 0% and 100%`},
		"bad rate":         {"population: {usersPerPool: 10}\ntraffic: {calls: 5}\ntimeline: [{phase: a, for: 1s}]\n", `r.load.yaml:2: calls "5" must be a rate like 60/s or 500/min`},
		"shares over 100%": {"population: {usersPerPool: 10}\ntraffic: {calls: 1/s, pickedUp: 70%, parked: 40%}\ntimeline: [{phase: a, for: 1s}]\n", "r.load.yaml:2: pickedUp and parked add up to more than 100%"},
		"too many groups":  {"population: {usersPerPool: 40000, groupSize: 2}\ntraffic: {calls: 1/s}\ntimeline: [{phase: a, for: 1s}]\n", "r.load.yaml:1: 40000 users in groups of 2 make 20000 groups a pool"},
		"not an action":    {"population: {usersPerPool: 10}\ntraffic: {calls: 1/s}\ntimeline:\n  - phase: a\n    for: 1s\n    do: [{advance: 1s}]\n", "r.load.yaml:6: advance is not an action a load rehearsal runs"},
		"unknown pool":     {"population: {usersPerPool: 10}\ntraffic: {calls: 1/s}\ntimeline:\n  - phase: a\n    for: 1s\n    do: [outage: pool07]\n", "r.load.yaml:6:"},
		"unknown orbit":    {"population: {usersPerPool: 10}\ntraffic: {calls: 1/s}\ntimeline:\n  - phase: a\n    for: 1s\n    expect:\n      - pickups: {by: pool09, succeed: 100%}\n", "r.load.yaml:7:"},
		"share alone":      {"population: {usersPerPool: 10}\ntraffic: {calls: 1/s}\ntimeline:\n  - phase: a\n    for: 1s\n    expect:\n      - pickups: {share: 100%}\n", "r.load.yaml:7: share needs refused"},
		"bad comparison":   {"population: {usersPerPool: 10}\ntraffic: {calls: 1/s}\ntimeline:\n  - phase: a\n    for: 1s\n    expect:\n      - calls: {succeed: \"most\"}\n", `r.load.yaml:7: succeed: succeed "most" must be a share in percent`},
		"unknown op":       {"population: {usersPerPool: 10}\ntraffic: {calls: 1/s}\ntimeline:\n  - phase: a\n    for: 1s\n    expect:\n      - transfers: {succeed: 100%}\n", `r.load.yaml:7: unknown operation "transfers"`},
		"phase twice":      {"population: {usersPerPool: 10}\ntraffic: {calls: 1/s}\ntimeline:\n  - {phase: a, for: 1s}\n  - {phase: a, for: 1s}\n", `r.load.yaml:5: phase "a" is named twice`},
		"no duration":      {"population: {usersPerPool: 10}\ntraffic: {calls: 1/s}\ntimeline:\n  - {phase: a}\n", `r.load.yaml:4: a phase needs "for"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseRehearsal("r.load.yaml", []byte(tc.file))
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrMalformed))
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestReplayCollectSkipsLoadRehearsals(t *testing.T) {
	bundled, err := filepath.Glob("../load/*" + RehearsalSuffix)
	require.NoError(t, err)
	require.NotEmpty(t, bundled, "the bundled rehearsals are where this test looks")
	files, err := Collect("../load")
	require.NoError(t, err)
	assert.Empty(t, files, "replay takes no load rehearsal for a scenario")
	for _, f := range bundled {
		_, err := LoadRehearsal(f)
		assert.NoError(t, err, "bundled rehearsal %s", f)
	}
}
