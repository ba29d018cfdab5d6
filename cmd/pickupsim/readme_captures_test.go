package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/pcap/pcaptest"
)

// TestScenariosREADMECaptures pastes the command block of the "Captures" section of
// scenarios/README.md into bash, in a copy of the repository, and checks that it does what
// the section says: the replay writes the runbook's capture, tshark lists its SIP at the
// virtual times (the pickup refused at 09:05:00), its refusals with their Warnings, and its
// RTP streams.
func TestScenariosREADMECaptures(t *testing.T) {
	pcaptest.Tshark(t)
	requireTool(t, "bash", "bash")
	block := sectionBlock(t, "../../scenarios/README.md", "## Captures")
	require.Contains(t, block, "--pcap captures", "the section's block replays with --pcap")
	out, work := pasteBlock(t, block)

	assert.Contains(t, out, "1 passed, 0 failed")
	assert.FileExists(t, work+"/captures/runbook-outage-failover-failback.pcap")
	assert.Regexp(t, `2013-02-01 09:00:00\.\d+ +127\.0\.0\.1 → 127\.0\.0\.1 +SIP \d+ Request: REGISTER sip:contoso\.com`, out,
		"the SIP, one line each, at the virtual start")
	assert.Regexp(t, `2013-02-01 09:05:00\.\d+ +127\.0\.0\.1 → 127\.0\.0\.1 +SIP \d+ Status: 480 Temporarily Unavailable`, out,
		"the pickup refused in resiliency mode, after the registrar failover timer")
	assert.Regexp(t, `SIP/2\.0 480 Temporarily Unavailable\t399 pool02\.contoso\.com "carol is in resiliency mode`, out,
		"the refusals with their Warning")
	streams := regexp.MustCompile(`(?m)^ .* 0x[0-9A-F]{8} +g711U +\d+ +0 \(0\.0%\)`).FindAllString(out, -1)
	assert.GreaterOrEqual(t, len(streams), 8, "the RTP streams of the runbook's four calls, no loss:\n%s", out)
}

// TestScenariosREADMEExactReplays pastes the command block of the "Exact replays" section
// of scenarios/README.md into bash, in a copy of the repository: two replays with one seed
// write byte-identical --json files (cmp exits 0).
func TestScenariosREADMEExactReplays(t *testing.T) {
	requireTool(t, "bash", "bash")
	block := sectionBlock(t, "../../scenarios/README.md", "## Exact replays")
	require.Contains(t, block, "--seed 7", "the section's block replays with a seed")
	out, work := pasteBlock(t, block)
	assert.Contains(t, out, "identical")
	assert.FileExists(t, work+"/a.json")
}

// pasteBlock runs a README's command block in bash (-euo pipefail), in a copy of the
// repository, and returns its output and the copy's folder.
func pasteBlock(t *testing.T, block string) (stdout, work string) {
	t.Helper()
	work = copyRepository(t, "../..")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", block)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	require.NoError(t, cmd.Run(), "the block as pasted:\n%s\nstdout:\n%s\nstderr:\n%s", block, out.String(), stderr.String())
	return out.String(), work
}

// sectionBlock returns the first fenced block after the heading of a Markdown file.
func sectionBlock(t *testing.T, file, heading string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(data), "\n"+heading)
	require.True(t, ok, "%s has a section %q", file, heading)
	_, rest, ok = strings.Cut(rest, "\n```sh\n")
	require.True(t, ok, "the section %q of %s has a command block", heading, file)
	block, _, ok := strings.Cut(rest, "\n```")
	require.True(t, ok)
	return block + "\n"
}
