package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The phones' settings and the checks on why a call ended (issue 9.1).

func TestPhonesSettingsAndEndReasons(t *testing.T) {
	body := strings.Replace(header, "topology:\n", "topology:\n  phones: {rtpTimeout: 10s}\n", 1) +
		`  - call: {from: alice, to: bob, as: c1}
  - park: {from: alice, call: c1, as: o1}
  - expect: {call: c1, state: ended, reason: no media}
  - expect: {orbit-number: o1, parkee-state: ended, parkee-reason: session timer}
`
	sc, err := parse(t, body)
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, sc.Topology.Phones.RTPTimeout)
	assert.Equal(t, "no media", sc.Steps[2].Expect.EndReason)
	assert.Equal(t, "session timer", sc.Steps[3].Expect.ParkeeReason)

	for name, c := range map[string]struct{ phones, want string }{
		"zero timeout": {"  phones: {rtpTimeout: 0s}\n", "s.yaml:3: rtpTimeout 0"},
		"unknown key":  {"  phones: {rtpTimout: 10s}\n", "s.yaml:3: unknown key \"rtpTimout\""},
		"bad duration": {"  phones: {rtpTimeout: soon}\n", "s.yaml:3: rtpTimeout: bad duration"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parse(t, strings.Replace(header, "topology:\n", "topology:\n"+c.phones, 1)+"  - outage: pool01\n")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestPhonesSettingsRoundTrip(t *testing.T) {
	orig, err := LoadTopologyFile("../topologies/contoso.yaml")
	require.NoError(t, err)
	orig.Phones.RTPTimeout = 45 * time.Second
	path := filepath.Join(t.TempDir(), "lab.yaml")
	require.NoError(t, SaveTopologyFile(path, orig, ""))
	saved, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(saved), "rtpTimeout: 45s")
	back, err := LoadTopologyFile(path)
	require.NoError(t, err)
	require.Equal(t, orig, back)
}
