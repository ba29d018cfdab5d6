package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/scenarios/report"
	"github.com/pickupsim/pickupsim/scenarios/report/browsertest"
	"github.com/pickupsim/pickupsim/scenarios/runner"
)

// runChromium runs a headless chromium with a throwaway profile and no network chatter.
func runChromium(t *testing.T, browser string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir=" + profileDir(t)}
	cmd := exec.CommandContext(ctx, browser, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("chromium %v timed out; stderr:\n%s", args, stderr.String())
	}
	require.NoError(t, err, "chromium %v; stderr:\n%s", args, stderr.String())
	return out
}

// profileDir is a throwaway chromium profile. Not t.TempDir: chromium's helper processes
// may still write to it for a moment after the browser exits, which would fail the test
// in TempDir's cleanup; it is removed with a few retries instead.
func profileDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pickupsim-chromium-")
	require.NoError(t, err)
	t.Cleanup(func() {
		for range 20 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("leaving chromium profile %s behind", dir)
	})
	return dir
}

// probe is appended to a copy of the report (the report itself has no script): once the
// page is laid out, it measures every lane and message label of the ladder and writes what
// it found into the DOM, which --dump-dom prints.
const probe = `<script>
window.addEventListener("load", () => {
  const svg = document.querySelector("svg.ladder");
  const box = svg.getBoundingClientRect();
  const texts = sel => [...svg.querySelectorAll(sel)].map(e => {
    const r = e.getBoundingClientRect();
    // the label, without the <title> (the raw message, shown on hover)
    const label = [...e.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.data).join("");
    return {text: label.trim(), x: r.x - box.x, y: r.y - box.y, w: r.width, h: r.height,
      visible: getComputedStyle(e).visibility === "visible" && r.width > 0 && r.height > 0};
  });
  const out = {width: box.width, height: box.height, lanes: texts("text.lane"), msgs: texts("text.msg"),
    arrows: svg.querySelectorAll("line.req, line.res").length};
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>`

type rendered struct {
	X, Y, W, H float64
	Text       string
	Visible    bool
}

type ladderProbe struct {
	Width, Height float64
	Lanes, Msgs   []rendered
	Arrows        int
}

// TestHTMLReportInChromium writes the HTML report of a small replay, has a real headless
// chromium lay it out, and checks that the ladder shows the scenario's SIP messages
// (INVITE, 180 Ringing, CANCEL, 480) as visible labels between the lanes of the pools and
// phones. It also saves a screenshot for a person to look at.
func TestHTMLReportInChromium(t *testing.T) {
	browser := browsertest.Chromium(t)
	res := runner.RunFile("testdata/ladder.yaml", runner.Options{})
	require.Empty(t, res.Error)
	require.True(t, res.Passed, "%v", res.Failures)

	dir := t.TempDir()
	var page bytes.Buffer
	require.NoError(t, report.HTML(&page, []runner.Result{res}))
	reportPath := filepath.Join(dir, "report.html")
	require.NoError(t, os.WriteFile(reportPath, page.Bytes(), 0o644))
	probed := strings.Replace(page.String(), "</body>", probe+"</body>", 1)
	probePath := filepath.Join(dir, "probe.html")
	require.NoError(t, os.WriteFile(probePath, []byte(probed), 0o644))

	dom := runChromium(t, browser, "--dump-dom", "file://"+probePath)
	m := regexp.MustCompile(`<pre id="probe">(.*?)</pre>`).FindSubmatch(dom)
	require.NotNil(t, m, "the probe did not run; DOM:\n%s", dom)
	var got ladderProbe
	require.NoError(t, json.Unmarshal([]byte(unescape(string(m[1]))), &got))

	lanes := map[string]rendered{}
	for _, l := range got.Lanes {
		lanes[l.Text] = l
		assert.True(t, l.Visible, "lane %s is not visible", l.Text)
	}
	for _, name := range []string{"pool01.contoso.com", "pool02.contoso.com", "alice", "bob", "carol"} {
		assert.Contains(t, lanes, name, "lane of %s", name)
	}
	seen := map[string]bool{}
	for _, msg := range got.Msgs {
		assert.True(t, msg.Visible, "message %q is not visible", msg.Text)
		assert.True(t, msg.X >= 0 && msg.X+msg.W <= got.Width+1, "message %q is outside the ladder (x %.0f, width %.0f of %.0f)", msg.Text, msg.X, msg.W, got.Width)
		assert.True(t, msg.Y >= 0 && msg.Y+msg.H <= got.Height+1, "message %q is below the ladder", msg.Text)
		seen[msg.Text] = true
	}
	for _, want := range []string{"REGISTER sip:contoso.com", "INVITE sip:bob@contoso.com", "180 Ringing", "CANCEL sip:bob@contoso.com",
		"487 Request Terminated", "480 Temporarily Unavailable"} {
		assert.True(t, seen[want], "the ladder shows no %q; it shows %v", want, keys(seen))
	}
	assert.Equal(t, len(got.Msgs), got.Arrows, "one arrow per message")
	assert.Len(t, got.Msgs, len(res.Messages), "every SIP message of the replay is on the ladder")

	shot := filepath.Join(dir, "ladder.png")
	runChromium(t, browser, "--screenshot="+shot, "--window-size=1400,1000", "--hide-scrollbars", "file://"+reportPath)
	info, err := os.Stat(shot)
	require.NoError(t, err)
	assert.Greater(t, info.Size(), int64(10_000), "a screenshot of a drawn ladder is not blank")
	if out := os.Getenv("PICKUPSIM_SCREENSHOT"); out != "" {
		data, _ := os.ReadFile(shot)
		require.NoError(t, os.WriteFile(out, data, 0o644))
	}
}

func unescape(s string) string {
	return strings.NewReplacer("&quot;", `"`, "&lt;", "<", "&gt;", ">", "&#39;", "'", "&amp;", "&").Replace(s)
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
