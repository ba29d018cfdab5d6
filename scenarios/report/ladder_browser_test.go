package report_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/scenarios/report"
	"github.com/pickupsim/pickupsim/scenarios/report/browsertest"
	"github.com/pickupsim/pickupsim/scenarios/runner"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

// measure reads the laid-out ladder: every text of it with its class, its data-line and
// data-pool, and its box relative to the ladder; the pools' lifeline stretches; and the
// ladder's box on the page.
const measure = `(() => {
  const svg = document.querySelector("svg.ladder");
  const box = svg.getBoundingClientRect();
  const own = e => [...e.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.data).join("").trim();
  const texts = [...svg.querySelectorAll("text")].map(e => {
    const r = e.getBoundingClientRect();
    const g = e.closest("[data-line]");
    return {cls: e.getAttribute("class"), text: own(e), line: g ? +g.dataset.line : 0,
      pool: e.closest("[data-pool]")?.dataset.pool ?? e.dataset.lane ?? "",
      x: r.x - box.x, y: r.y - box.y, w: r.width, h: r.height,
      visible: getComputedStyle(e).visibility === "visible" && r.width > 0};
  });
  const lives = [...svg.querySelectorAll("line.life[data-pool]")].map(e => ({pool: e.dataset.pool,
    cls: e.getAttribute("class"), y1: +e.getAttribute("y1"), y2: +e.getAttribute("y2")}));
  return {texts, lives, x: box.x + scrollX, y: box.y + scrollY, width: box.width, height: box.height};
})()`

type shownText struct {
	Cls, Text, Pool string
	Line            int
	X, Y, W, H      float64
	Visible         bool
}

type lifeline struct {
	Pool, Cls string
	Y1, Y2    float64
}

type measured struct {
	Texts               []shownText
	Lives               []lifeline
	X, Y, Width, Height float64
}

// TestRunbookLadderShowsTheDisaster replays the bundled runbook, opens its HTML report in
// headless Chromium and reads the ladder as laid out, then takes a screenshot of it. A
// reader must find: each disaster recovery step (the outage, Invoke-CsPoolFailOver and its
// completion, Set-CsCallParkOrbit, the recovery, Invoke-CsPoolFailBack and its completion)
// as a heading at its step, and as a marker on the lifeline of each pool it concerns,
// beneath that heading; pool01's lifeline drawn down from the outage to the recovery, and
// pool02's failing over between the failover and its completion; every SIP message under
// the heading of the step that sent it; the refused pickup's 480 with its Warning written
// under it; and no text drawn over another. The screenshot must show the markers'
// colours. With PICKUPSIM_SCREENSHOT_DIR set, the screenshot is kept there.
func TestRunbookLadderShowsTheDisaster(t *testing.T) {
	bin := browsertest.Chromium(t)
	res := runner.RunFile("../runbook-outage-failover-failback.yaml", runner.Options{})
	require.Empty(t, res.Error)
	require.True(t, res.Passed, "%v", res.Failures)
	var html bytes.Buffer
	require.NoError(t, report.HTML(&html, []runner.Result{res}))
	file := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, os.WriteFile(file, html.Bytes(), 0o644))

	page := browsertest.Open(t, bin, "file://"+file, 1400, 1000)
	page.WaitFor("the report", `document.readyState === "complete" && document.querySelector("svg.ladder") !== null`, `true`)
	var got measured
	require.NoError(t, json.Unmarshal([]byte(page.Eval(measure)), &got))
	lanes := map[string]shownText{}
	headings := map[int]shownText{} // by line: the first text of the step's heading
	for _, tx := range got.Texts {
		assert.True(t, tx.Visible, "%q is visible", tx.Text)
		switch {
		case strings.HasPrefix(tx.Cls, "lane"):
			lanes[tx.Text] = tx
		case tx.Cls == "step":
			if _, ok := headings[tx.Line]; !ok {
				headings[tx.Line] = tx
			}
		}
	}
	var lines []int
	for _, st := range res.Steps {
		lines = append(lines, st.Line)
		require.Contains(t, headings, st.Line, "every step has a heading: line %d", st.Line)
		assert.Contains(t, headings[st.Line].Text, strings.Trim(st.Text, "{}")[:min(20, len(st.Text)-2)], "the heading of line %d", st.Line)
	}
	// below returns the vertical span from the heading of line to the next step's.
	below := func(line int) (float64, float64) {
		for i, l := range lines {
			if l == line && i+1 < len(lines) {
				return headings[l].Y, headings[lines[i+1]].Y
			}
		}
		return headings[line].Y, got.Height
	}

	// The runbook's disaster recovery, in order, and the pools each step concerns.
	const pool01, pool02 = "pool01.contoso.com", "pool02.contoso.com"
	dr := []struct {
		kind  scenario.Kind
		label string
		pools []string
	}{
		{scenario.Outage, "outage", []string{pool01}},
		{scenario.FailOver, "failover started", []string{pool01, pool02}},
		{scenario.FailOverComplete, "failover complete", []string{pool01, pool02}},
		{scenario.SetOrbit, "Set-CsCallParkOrbit", []string{pool01, pool02}},
		{scenario.Recover, "recovered", []string{pool01}},
		{scenario.FailBack, "failback started", []string{pool01, pool02}},
		{scenario.FailBackComplete, "failback complete", []string{pool01, pool02}},
		{scenario.SetOrbit, "Set-CsCallParkOrbit", []string{pool01, pool02}},
	}
	markerY := map[string]float64{} // "label pool" -> y, for the lifelines
	next := 0
	for _, want := range dr {
		for next < len(res.Steps) && res.Steps[next].Kind != want.kind {
			next++
		}
		require.Less(t, next, len(res.Steps), "the runbook has a %s step", want.kind)
		line := res.Steps[next].Line
		next++
		assert.Contains(t, headings[line].Text, string(want.kind)+":", "the heading of line %d names the step", line)
		top, bottom := below(line)
		for _, pool := range want.pools {
			var marker *shownText
			for i, tx := range got.Texts {
				if tx.Cls == "event" && tx.Line == line && tx.Pool == pool {
					marker = &got.Texts[i]
				}
			}
			if !assert.NotNil(t, marker, "line %d: a %q marker on %s's lifeline", line, want.label, pool) {
				continue
			}
			assert.Equal(t, want.label, marker.Text)
			assert.InDelta(t, lanes[pool].X+lanes[pool].W/2, marker.X+marker.W/2, 1.5, "the %q marker is centred on %s's lifeline", want.label, pool)
			assert.True(t, marker.Y > top && marker.Y < bottom, "the %q marker of line %d is beneath its heading (y %.0f, heading %.0f, next %.0f)",
				want.label, line, marker.Y, top, bottom)
			markerY[want.label+" "+pool] = marker.Y + marker.H/2
		}
	}
	assertStretch(t, got.Lives, pool01, "down", markerY["outage "+pool01], markerY["recovered "+pool01])
	assertStretch(t, got.Lives, pool02, "recovering", markerY["failover started "+pool02], markerY["failover complete "+pool02])
	assertStretch(t, got.Lives, pool02, "recovering", markerY["failback started "+pool02], markerY["failback complete "+pool02])

	// Every message under the heading of its step, and the refused pickups' reasons.
	refusals := 0
	for i, tx := range got.Texts {
		if !strings.HasPrefix(tx.Cls, "msg") {
			continue
		}
		top, bottom := below(tx.Line)
		assert.True(t, tx.Y > top && tx.Y < bottom, "%q of line %d is drawn beneath its step's heading", tx.Text, tx.Line)
		if tx.Text != "480 Temporarily Unavailable" {
			continue
		}
		refusals++
		var warning string
		for _, d := range got.Texts[i+1:] {
			if d.Cls != "detail" {
				break
			}
			warning += d.Text + " "
			assert.Less(t, d.Y-tx.Y, 4*15.0, "the Warning is written right under the 480")
		}
		assert.Contains(t, warning, `Warning: 399 `, "the 480 of line %d shows its Warning", tx.Line)
		assert.Contains(t, warning, "resiliency mode", "the 480 of line %d says why", tx.Line)
	}
	assert.Equal(t, 2, refusals, "both refused pickups are drawn")

	// No text over another (the lane names, headings, markers, messages, reasons).
	for i, a := range got.Texts {
		for _, b := range got.Texts[i+1:] {
			ox := min(a.X+a.W, b.X+b.W) - max(a.X, b.X)
			oy := min(a.Y+a.H, b.Y+b.H) - max(a.Y, b.Y)
			assert.False(t, ox > 1 && oy > 1, "%q and %q overlap", a.Text, b.Text)
		}
	}

	shot := page.Screenshot(browsertest.Rect{X: got.X, Y: got.Y, Width: got.Width, Height: got.Height})
	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err)
	assert.InDelta(t, got.Width, img.Bounds().Dx(), 1, "the screenshot is the ladder")
	assert.InDelta(t, got.Height, img.Bounds().Dy(), 1)
	for name, c := range map[string]color.RGBA{"outage red": {0xc6, 0x28, 0x28, 0xff}, "failover amber": {0xe6, 0x95, 0x00, 0xff},
		"completion green": {0x2e, 0x7d, 0x32, 0xff}, "cmdlet blue": {0x1a, 0x4d, 0x8f, 0xff}} {
		assert.Greater(t, countColour(img, c), 200, "the screenshot shows the %s of the markers", name)
	}
	if dir := os.Getenv("PICKUPSIM_SCREENSHOT_DIR"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "runbook-ladder.png"), shot, 0o644))
	}
}

// assertStretch checks that pool's lifeline has a stretch of class cls from about y1 to
// about y2.
func assertStretch(t *testing.T, lives []lifeline, pool, cls string, y1, y2 float64) {
	t.Helper()
	for _, l := range lives {
		if l.Pool == pool && strings.Contains(l.Cls, cls) && l.Y1 > y1-20 && l.Y1 < y1+20 && l.Y2 > y2-20 && l.Y2 < y2+20 {
			return
		}
	}
	t.Errorf("%s's lifeline is not drawn %s from y %.0f to %.0f: %v", pool, cls, y1, y2, lives)
}

// countColour counts the pixels of img that are exactly c.
func countColour(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)) == c {
				n++
			}
		}
	}
	return n
}
