package main

import (
	"fmt"
	"os"

	"github.com/pickupsim/pickupsim/scenarios/runner"
)

// prepareCaptures makes dir for replay --pcap and checks that no two scenarios would write
// the same capture: each is named after its file (runner.CaptureFile).
func prepareCaptures(dir string, files []string) error {
	if dir == "" {
		return nil
	}
	owner := map[string]string{}
	for _, f := range files {
		name := runner.CaptureFile(f)
		if other, ok := owner[name]; ok {
			return fmt.Errorf("--pcap: %s and %s would both write %s; replay them separately", other, f, name)
		}
		owner[name] = f
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--pcap: %w", err)
	}
	return nil
}
