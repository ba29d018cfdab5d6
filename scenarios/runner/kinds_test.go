package runner

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

// TestEveryStepKindRuns replays testdata/kinds: a scenario per step kind (or per group of
// kinds that only make sense together), each checking with expect steps that its steps
// did what they say, over real SIP. Together they run every kind, and every one passes.
func TestEveryStepKindRuns(t *testing.T) {
	files, err := filepath.Glob("testdata/kinds/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var mu sync.Mutex
	ran := map[scenario.Kind]bool{}
	t.Run("group", func(t *testing.T) {
		for _, f := range files {
			t.Run(filepath.Base(f), func(t *testing.T) {
				t.Parallel()
				res := RunFile(f, Options{})
				require.Empty(t, res.Error)
				for _, fl := range res.Failures {
					t.Error(fl)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, s := range res.Steps {
					ran[s.Kind] = true
				}
			})
		}
	})
	for _, k := range scenario.Kinds {
		assert.True(t, ran[k], "no scenario of testdata/kinds runs a %s step", k)
	}
}
