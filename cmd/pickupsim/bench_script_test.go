package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBenchmarkScriptRuns runs the README's benchmark command (testdata/bench/run.sh) as
// a user would, scaled down to one pair of small runs: SIPp against `serve` for the
// REGISTER storm, call routing and Group Call Pickup, and against sipgo's floor (sipgofloor)
// and Kamailio (when it is installed) for the first two, each run clean, then the medians (and ratios). The script binds fixed ports
// from BASE; the test picks a BASE where they are free.
func TestBenchmarkScriptRuns(t *testing.T) {
	requireTool(t, "sipp", "sip-tester")
	requireTool(t, "curl", "curl")
	var out []byte
	var err error
	for attempt := range 4 {
		base := 20000 + 1000*rand.IntN(8)
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "testdata/bench/run.sh")
		cmd.Env = append(os.Environ(), fmt.Sprintf("BASE=%d", base), "TMPDIR="+t.TempDir(), "PAIRS=1", "REG_USERS=2000", "REG_RATE=1000",
			"CALLS=300", "CALL_RATE=100", "PICKUPS=100", "PICKUP_RATE=50", "SETTLE=1", "PROFILE=yes")
		out, err = cmd.CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), "is in use; set BASE") || attempt == 3 {
			break
		}
	}
	text := string(out)
	require.NoError(t, err, "run.sh:\n%s", text)
	for _, run := range []string{"register pickupsim 1", "route pickupsim 1", "pickup pickupsim 1", "register sipgo 1", "route sipgo 1"} {
		m := regexp.MustCompile(regexp.QuoteMeta(run) + ` rate=(\d+) ok=(\d+) failed=(\d+) retrans=\d+ cpu_us=([\d.]+)`).FindStringSubmatch(text)
		require.NotNil(t, m, "no %q line in:\n%s", run, text)
		assert.Equal(t, "0", m[3], "%s: failed calls", run)
		assert.NotEqual(t, "0.0", m[4], "%s: the server's CPU was measured", run)
	}
	assert.Regexp(t, `register pickupsim 1 .* mem_peak_B=\d+ mem_settled_B=-?\d+ rss_peak_B=\d+`, text, "memory per registration sampled")
	assert.Contains(t, text, "medians over 1 runs")
	assert.Contains(t, text, "pickup pickupsim       clean 1/1")
	assert.Regexp(t, `register pickupsim/sipgo +rate [\d.]+x  cpu per op [\d.]+x`, text, "sipgo's floor compared")
	if _, err := exec.LookPath("kamailio"); err == nil {
		assert.Contains(t, text, "register kamailio 1")
		assert.Regexp(t, `register pickupsim/kamailio +rate [\d.]+x  cpu per op [\d.]+x`, text)
		assert.Regexp(t, `route pickupsim/kamailio +rate [\d.]+x`, text)
	}
}
