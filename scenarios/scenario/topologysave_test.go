package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// A commented topology file, as an administrator writes one.
const commented = `# The lab's two pools.
# Second line of the header.
domain: contoso.com
registrarFailoverTimer: 5m # Lync's default
pools:
  # pool01 first
  - fqdn: pool01.contoso.com
    backup: pool02.contoso.com # they back each other up
    address: 127.0.0.1:5060
    cps:
      callPickupTimeoutThreshold: "00:01:30"
      maxCallPickupAttempts: 1
      enableMusicOnHold: true
  - fqdn: pool02.contoso.com
    backup: pool01.contoso.com
    address: 127.0.0.1:5062
users:
  - {name: alice, home: pool01} # the caller
  - {name: bob, home: pool01, pickup: 100}
  - {name: erin, home: pool02}
orbits:
  - {identity: pickup-pool01, start: 100, end: 199, service: pool01, type: GroupPickup}
  - {identity: park-pool01, start: 7000, end: 7099, service: pool01, type: CallPark} # parking
# the end
`

func TestUpdateTopologyFileKeepsCommentsAndChangesOnlyWhatChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lab.yaml")
	require.NoError(t, os.WriteFile(path, []byte(commented), 0o644))
	orig, err := LoadTopologyFile(path)
	require.NoError(t, err)

	// Saving what the file says leaves it byte for byte as it was.
	require.NoError(t, UpdateTopologyFile(path, orig, "header"))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, commented, string(data))

	// The administrator's changes: a failover, a redirected range, CPS settings, a new
	// range, a removed one, a new pickup group member.
	changed := clone(orig)
	changed.Pools[0].Phase, changed.Pools[0].Down = topology.FailedOver, true
	cps := park.DefaultCPSConfig()
	cps.MaxCallPickupAttempts = 3
	changed.Pools[1].CPS = &cps
	changed.Orbits[0].CallParkService = "pool02.contoso.com"
	changed.Orbits = append(changed.Orbits[:1], park.OrbitRange{Identity: "park-pool02", NumberRangeStart: "7100",
		NumberRangeEnd: "7199", CallParkService: "pool02.contoso.com", Type: park.CallPark})
	changed.Users[0].PickupNumber = "100"
	require.NoError(t, UpdateTopologyFile(path, changed, "header"))
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	text := string(data)
	for _, c := range []string{"# The lab's two pools.", "# Second line of the header.", "# Lync's default", "# pool01 first",
		"# they back each other up", "# the caller", "# the end"} {
		assert.Contains(t, text, c, "comment kept")
	}
	assert.NotContains(t, text, "# parking", "a removed range goes with its comment")
	assert.Contains(t, text, "registrarFailoverTimer: 5m", "unchanged values keep their spelling")
	assert.Contains(t, text, `callPickupTimeoutThreshold: "00:01:30"`)
	assert.Contains(t, text, "{identity: pickup-pool01, start: 100, end: 199, service: pool02, type: GroupPickup}",
		"a redirected range is written with the file's short pool names")
	assert.Contains(t, text, "{name: alice, home: pool01, pickup: \"100\"} # the caller")
	back, err := LoadTopologyFile(path)
	require.NoError(t, err)
	assert.Equal(t, changed, back, "the file reads back as saved")

	// Failing back and undoing the rest brings back the administrator's file (pool02's
	// cps block, now written, holds the defaults it had without one).
	require.NoError(t, UpdateTopologyFile(path, orig, "header"))
	back, err = LoadTopologyFile(path)
	require.NoError(t, err)
	require.NotNil(t, back.Pools[1].CPS)
	assert.Equal(t, park.DefaultCPSConfig(), *back.Pools[1].CPS)
	back.Pools[1].CPS = nil
	assert.Equal(t, orig, back)
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "phase:")
	assert.NotContains(t, string(data), "down:")
	assert.Contains(t, string(data), "maxCallPickupAttempts: 1", "pool01's explicit defaults are kept")
}

func TestUpdateTopologyFileWritesANewFileWithTheHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.yaml")
	orig, err := LoadTopologyFile("../topologies/contoso.yaml")
	require.NoError(t, err)
	require.NoError(t, UpdateTopologyFile(path, orig, "written by a test"))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(data), "# written by a test\n"))
	back, err := LoadTopologyFile(path)
	require.NoError(t, err)
	assert.Equal(t, orig, back)
}

func clone(t topology.Topology) topology.Topology {
	c := t
	c.Pools = append([]topology.Pool(nil), t.Pools...)
	c.Users = append([]topology.User(nil), t.Users...)
	c.Orbits = append([]park.OrbitRange(nil), t.Orbits...)
	return c
}
