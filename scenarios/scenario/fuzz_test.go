package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seedFiles adds every file matching the patterns (relative to this package) to f's corpus.
func seedFiles(f *testing.F, patterns ...string) {
	n := 0
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		require.NoError(f, err)
		for _, file := range files {
			data, err := os.ReadFile(file)
			require.NoError(f, err)
			f.Add(data)
			n++
		}
	}
	require.NotZero(f, n, "no seed files")
}

// wellLocated checks that every problem of a load error names the file and a line.
func wellLocated(t *testing.T, file string, err error) {
	t.Helper()
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, file+":") {
			t.Fatalf("error %q does not say where (want %s:line: ...)", line, file)
		}
	}
}

// FuzzParseScenario feeds the scenario loader mutations of the bundled scenarios: it must
// never panic or hang, and every error must name file:line.
func FuzzParseScenario(f *testing.F) {
	seedFiles(f, "../*.yaml", "../runner/testdata/*.yaml", "../runner/testdata/kinds/*.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("fuzz.yaml", data)
		if err != nil {
			wellLocated(t, "fuzz.yaml", err)
			return
		}
		require.NotNil(t, sc)
	})
}

// FuzzTopologyRoundTrip feeds the topology loader mutations of the bundled topologies:
// it must never panic, errors name file:line, and a topology it accepts is saved and
// reloaded unchanged.
func FuzzTopologyRoundTrip(f *testing.F) {
	seedFiles(f, "../topologies/*.yaml", "../../cmd/pickupsim/lab.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		topo, err := ParseTopology("fuzz.yaml", data)
		if err != nil {
			wellLocated(t, "fuzz.yaml", err)
			return
		}
		saved, err := MarshalTopology(topo, "saved by the fuzzer")
		require.NoError(t, err)
		again, err := ParseTopology("saved.yaml", saved)
		require.NoError(t, err, "a saved topology does not load again:\n%s", saved)
		assert.Equal(t, topo, again, "save -> reload changed the topology:\n%s", saved)
	})
}
