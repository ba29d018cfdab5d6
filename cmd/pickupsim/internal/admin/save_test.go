package admin

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The first save after an administrator's change keeps the topology file's comments and
// rewrites only what changed.
func TestSavingKeepsTheTopologyFilesComments(t *testing.T) {
	f := newFixture(t, "")
	before, err := os.ReadFile(f.file)
	require.NoError(t, err)
	f.mustRun("Set-CsCallParkOrbit", map[string]any{"Identity": "pickup-pool01", "CallParkService": "pool02"})
	after, err := os.ReadFile(f.file)
	require.NoError(t, err)
	for _, line := range strings.Split(string(before), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			assert.Contains(t, string(after), line)
		}
	}
	assert.Contains(t, string(after), "{identity: pickup-pool01, start: 100, end: 199, service: pool02, type: GroupPickup}")
	changed := 0
	bl, al := strings.Split(string(before), "\n"), strings.Split(string(after), "\n")
	require.Len(t, al, len(bl))
	for i := range bl {
		if bl[i] != al[i] {
			changed++
		}
	}
	assert.Equal(t, 1, changed, "one line changed:\n%s", after)
}
