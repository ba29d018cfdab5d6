package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/scenarios/load"
	"github.com/pickupsim/pickupsim/scenarios/report"
	"github.com/pickupsim/pickupsim/scenarios/report/browsertest"
)

// loadProbe is appended to a copy of the load report: once laid out, it measures every
// plot (its lines, how many points each has and whether they stay inside the plot, its
// legend and phase labels) and reads the verdict and the tables, into the DOM.
const loadProbe = `<script>
window.addEventListener("load", () => {
  const vis = e => { const r = e.getBoundingClientRect(); return getComputedStyle(e).visibility === "visible" && r.width > 0 && r.height > 0; };
  const plots = [...document.querySelectorAll("svg.plot")].map(svg => {
    const box = svg.getBoundingClientRect();
    const lines = [...svg.querySelectorAll("polyline.line")].map(l => {
      const r = l.getBoundingClientRect();
      return {name: l.dataset.name, points: l.points.numberOfItems,
        inside: r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1};
    });
    return {title: svg.querySelector("text.title").textContent, width: box.width, lines,
      legends: [...svg.querySelectorAll("text.legend")].filter(vis).map(t => t.textContent),
      phases: [...svg.querySelectorAll("text.phase")].filter(vis).map(t => t.textContent)};
  });
  const out = {plots, verdict: document.getElementById("verdict").textContent,
    checks: document.querySelectorAll("#checks tr.pass, #checks tr.fail").length,
    phases: [...document.querySelectorAll("section.phase")].map(s => ({name: s.dataset.phase, ops: s.querySelectorAll("table.ops tr").length - 1}))};
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>`

type loadReportProbe struct {
	Plots []struct {
		Title string
		Width float64
		Lines []struct {
			Name   string
			Points int
			Inside bool
		}
		Legends []string
		Phases  []string
	}
	Verdict string
	Checks  int
	Phases  []struct {
		Name string
		Ops  int
	}
}

// TestLoadHTMLReportInChromium renders the HTML report of a real small rehearsal (its
// JSON result is in testdata) in headless Chromium and checks what an administrator
// sees: the verdict, one row per expectation, five time-series plots whose lines have a
// point per second and stay inside their plot, with legends and the phases labelled, and
// a table of operations per phase.
func TestLoadHTMLReportInChromium(t *testing.T) {
	browser := browsertest.Chromium(t)
	data, err := os.ReadFile("testdata/load-result.json")
	require.NoError(t, err)
	var res load.Result
	require.NoError(t, json.Unmarshal(data, &res))
	require.NotEmpty(t, res.Series)

	dir := t.TempDir()
	var page bytes.Buffer
	require.NoError(t, report.LoadHTML(&page, &res))
	probed := strings.Replace(page.String(), "</body>", loadProbe+"</body>", 1)
	probePath := filepath.Join(dir, "probe.html")
	require.NoError(t, os.WriteFile(probePath, []byte(probed), 0o644))
	dom := runChromium(t, browser, "--dump-dom", "--window-size=1200,900", "file://"+probePath)
	m := regexp.MustCompile(`<pre id="probe">(.*?)</pre>`).FindSubmatch(dom)
	require.NotNil(t, m, "the probe did not run; DOM:\n%s", dom)
	var got loadReportProbe
	require.NoError(t, json.Unmarshal([]byte(unescape(string(m[1]))), &got))

	checks := 0
	for _, ph := range res.Phases {
		checks += len(ph.Checks)
	}
	assert.Equal(t, "PASS: 12 expectations, 0 failed", got.Verdict)
	assert.Equal(t, checks, got.Checks, "one row per expectation")
	require.Len(t, got.Plots, 5)
	assert.Equal(t, "Phones registered, by mode (as the phones know it)", got.Plots[0].Title)
	for _, p := range got.Plots {
		assert.NotEmpty(t, p.Lines, p.Title)
		assert.Len(t, p.Legends, len(p.Lines), "%s: one legend per line", p.Title)
		for _, l := range p.Lines {
			assert.Equal(t, len(res.Series), l.Points, "%s: %s has a point per second", p.Title, l.Name)
			assert.True(t, l.Inside, "%s: %s is drawn outside its plot", p.Title, l.Name)
		}
		for _, name := range []string{"normal", "outage", "failing-over", "failed-over", "failing-back", "normal-again"} {
			assert.Contains(t, p.Phases, name, "%s: phase %s is labelled", p.Title, name)
		}
	}
	assert.Equal(t, []string{"normal", "resiliency", "offline"}, got.Plots[0].Legends)
	require.Len(t, got.Phases, len(res.Phases))
	for i, ph := range got.Phases {
		assert.Equal(t, res.Phases[i].Name, ph.Name)
		assert.Equal(t, len(res.Phases[i].Ops), ph.Ops, "phase %s: a row per operation", ph.Name)
	}

	shot := filepath.Join(dir, "load.png")
	runChromium(t, browser, "--screenshot="+shot, "--window-size=1200,1400", "--hide-scrollbars", "file://"+filepath.Join(dir, "probe.html"))
	info, err := os.Stat(shot)
	require.NoError(t, err)
	assert.Greater(t, info.Size(), int64(20_000), "a screenshot of drawn plots is not blank")
}
