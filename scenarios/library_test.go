package scenarios_test

import (
	"testing"

	"github.com/pickupsim/pickupsim/scenarios/runner"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

// TestLibrary replays every bundled scenario: they are the product's regression tests as
// much as the administrators' runbooks.
func TestLibrary(t *testing.T) {
	files, err := scenario.Collect(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 12 {
		t.Fatalf("found %d bundled scenarios, want at least one per cell of the seed's table", len(files))
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			res := runner.RunFile(f, runner.Options{})
			if res.Error != "" {
				t.Fatal(res.Error)
			}
			for _, fl := range res.Failures {
				t.Error(fl)
			}
		})
	}
}
