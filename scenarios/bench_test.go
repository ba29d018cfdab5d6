package scenarios_test

import (
	"testing"
	"time"

	"github.com/pickupsim/pickupsim/scenarios/runner"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

// BenchmarkLibrary replays the whole bundled library, one scenario after the other, and
// reports the wall time per replay and how much faster than real time it runs.
func BenchmarkLibrary(b *testing.B) {
	files, err := scenario.Collect(".")
	if err != nil {
		b.Fatal(err)
	}
	var wall, sim time.Duration
	for b.Loop() {
		for _, f := range files {
			res := runner.RunFile(f, runner.Options{})
			if !res.Passed {
				b.Fatalf("%s failed: %v %s", f, res.Failures, res.Error)
			}
			wall += res.Wall
			sim += res.Simulated
		}
	}
	b.ReportMetric(float64(sim)/float64(wall), "sim/real")
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/library")
}
