package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replay of a passing and a failing scenario: a line each, the final count, exit status 1,
// and JUnit, JSON and HTML reports that carry the failure's file:line and the SIP messages.
func TestReplayReportsAndExitStatus(t *testing.T) {
	dir := t.TempDir()
	junit, js, html := filepath.Join(dir, "r.xml"), filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	var out bytes.Buffer
	err := replay(&out, []string{"../../scenarios/new-calls-after-failback.yaml", "../../scenarios/runner/testdata/wrong.yaml"},
		replayFlags{parallel: 2, junit: junit, json: js, html: html})
	require.ErrorIs(t, err, errScenariosFailed)
	assert.Equal(t, 1, exitCode(err))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	assert.Equal(t, "1 passed, 1 failed", lines[len(lines)-1])
	assert.Contains(t, out.String(), "PASS  new calls after failback")
	assert.Contains(t, out.String(), "wrong.yaml:15: expect: expected call c1 (alice to bob) established, got ringing")

	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	data, err := os.ReadFile(junit)
	require.NoError(t, err)
	require.NoError(t, xml.Unmarshal(data, &suites))
	assert.Equal(t, 2, suites.Tests)
	assert.Equal(t, 1, suites.Failures)
	assert.Contains(t, string(data), "wrong.yaml:15:")

	var rep struct {
		Passed, Failed int
		Scenarios      []struct {
			Timeline []struct{ Type, Summary string }
		}
	}
	data, err = os.ReadFile(js)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &rep))
	assert.Equal(t, 1, rep.Passed)
	kinds := map[string]int{}
	for _, e := range rep.Scenarios[0].Timeline {
		kinds[e.Type]++
		if e.Type == "sip" && strings.HasPrefix(e.Summary, "REGISTER") {
			kinds["register"]++
		}
	}
	assert.Positive(t, kinds["step"])
	assert.Positive(t, kinds["sip"])
	assert.Positive(t, kinds["register"])

	data, err = os.ReadFile(html)
	require.NoError(t, err)
	assert.Contains(t, string(data), "<svg class=\"ladder\"")
	assert.Contains(t, string(data), "INVITE sip:100@contoso.com")
	assert.NotContains(t, string(data), "<script")
}

// On a terminal, a live "[k/N] running <scenario>" line is overwritten as scenarios run,
// and removed before the summary; elsewhere (CI logs) the output is plain lines.
func TestReplayProgressLine(t *testing.T) {
	files := []string{"../../scenarios/runner/testdata/kinds/dial.yaml", "../../scenarios/runner/testdata/kinds/reject.yaml"}
	var live bytes.Buffer
	require.NoError(t, replay(&live, files, replayFlags{parallel: 1, live: true}))
	out := live.String()
	assert.Contains(t, out, "\r\x1b[K[1/2] running dial.yaml")
	assert.Contains(t, out, "\r\x1b[K[2/2] running reject.yaml")
	assert.Less(t, strings.Index(out, "running dial.yaml"), strings.Index(out, "running reject.yaml"), "scenarios start in file order")
	// What remains on screen once carriage returns and erasures are applied: plain lines.
	var screen []string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		parts := strings.Split(line, "\r\x1b[K")
		screen = append(screen, parts[len(parts)-1])
	}
	require.Len(t, screen, 3, "%q", out)
	assert.Regexp(t, `^PASS  dial `, screen[0])
	assert.Regexp(t, `^PASS  reject `, screen[1])
	assert.Equal(t, "2 passed, 0 failed", screen[2], "the live line is gone before the summary")

	var plain bytes.Buffer
	require.NoError(t, replay(&plain, files, replayFlags{parallel: 2}))
	assert.NotContains(t, plain.String(), "\r")
	assert.NotContains(t, plain.String(), "running")
	assert.False(t, isTerminal(&plain))
}
