package main

import (
	"os"
	"testing"

	"github.com/pickupsim/pickupsim/scenarios/runner"
)

// TestMain installs the replays' SIP tracing before any test starts serve: the replay tests
// turn on sipgo's package-wide trace switch, which the transports of a running serve read.
func TestMain(m *testing.M) {
	runner.EnableTracing()
	os.Exit(m.Run())
}
