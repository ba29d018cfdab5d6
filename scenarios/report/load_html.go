package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/pickupsim/pickupsim/scenarios/load"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

// Plot geometry, in SVG user units.
const (
	plotWidth  = 960
	plotHeight = 244
	plotLeft   = 64
	plotRight  = 16
	plotTop    = 48
	plotBottom = 28
)

// series is one line of a plot.
type series struct {
	name   string
	class  string
	values []float64
}

// LoadHTML writes a self-contained page (inline SVG, no script) of a load rehearsal:
// the verdict and every expectation, time-series plots of the phones registered by mode,
// pickups, calls, parks and REGISTERs per second with the phases as bands, and the
// per-phase tables of the text report.
func LoadHTML(w io.Writer, res *load.Result) error {
	checks, failed := checkCounts(res)
	return loadPage.Execute(w, map[string]any{
		"R": res, "Checks": checks, "Failed": failed, "Traffic": trafficText(res),
		"Plots": loadPlots(res),
	})
}

func loadPlots(res *load.Result) []template.HTML {
	col := func(f func(load.Sample) int) []float64 {
		out := make([]float64, len(res.Series))
		for i, s := range res.Series {
			out[i] = float64(f(s))
		}
		return out
	}
	ok := func(kind string) []float64 { return col(func(s load.Sample) int { return s.OK[kind] }) }
	refused := func(kind string) []float64 { return col(func(s load.Sample) int { return s.Refused[kind] }) }
	return []template.HTML{
		plot(res, "Phones registered, by mode (as the phones know it)", "phones", []series{
			{"normal", "normal", col(func(s load.Sample) int { return s.Normal })},
			{"resiliency", "resiliency", col(func(s load.Sample) int { return s.Resiliency })},
			{"offline", "offline", col(func(s load.Sample) int { return s.Offline })},
		}),
		plot(res, "Group Call Pickups per second", "per second", []series{
			{"picked up", "ok", ok(scenario.OpPickups)},
			{"refused or unanswered", "refused", refused(scenario.OpPickups)},
		}),
		plot(res, "Calls per second, and calls connected", "calls", []series{
			{"calls set up /s", "ok", ok(scenario.OpCalls)},
			{"calls refused /s", "refused", refused(scenario.OpCalls)},
			{"calls connected now", "up", col(func(s load.Sample) int { return s.CallsUp })},
		}),
		plot(res, "Parks and retrievals per second", "per second", []series{
			{"parked", "ok", ok(scenario.OpParks)},
			{"parks refused", "refused", refused(scenario.OpParks)},
			{"retrieved", "ok2", ok(scenario.OpRetrievals)},
			{"retrievals refused", "refused2", refused(scenario.OpRetrievals)},
		}),
		plot(res, "REGISTER per second", "per second", []series{
			{"sent", "up", col(func(s load.Sample) int { return s.RegistersSent })},
			{"registered (200)", "ok", ok(scenario.OpRegistrations)},
			{"refused or unanswered", "refused", refused(scenario.OpRegistrations)},
		}),
	}
}

// plot draws lines over the rehearsal's time with a band per phase.
func plot(res *load.Result, title, unit string, lines []series) template.HTML {
	n := len(res.Series)
	var tMax float64
	if len(res.Phases) > 0 {
		tMax = float64(res.Phases[len(res.Phases)-1].End) / 1e9
	}
	if n > 0 {
		tMax = math.Max(tMax, res.Series[n-1].T)
	}
	tMax = math.Max(tMax, 1)
	yMax := 0.0
	for _, l := range lines {
		for _, v := range l.values {
			yMax = math.Max(yMax, v)
		}
	}
	yMax, yStep := niceScale(yMax)
	iw, ih := float64(plotWidth-plotLeft-plotRight), float64(plotHeight-plotTop-plotBottom)
	x := func(t float64) float64 { return plotLeft + iw*t/tMax }
	y := func(v float64) float64 { return plotTop + ih*(1-v/yMax) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		plotWidth, plotHeight, plotWidth, plotHeight, esc(title))
	fmt.Fprintf(&b, `<text class="title" x="%d" y="14">%s</text>`, plotLeft, esc(title))
	for i, ph := range res.Phases {
		x0, x1 := x(float64(ph.Start)/1e9), x(float64(ph.End)/1e9)
		fmt.Fprintf(&b, `<rect class="band b%d" x="%.1f" y="%d" width="%.1f" height="%.0f"><title>%s</title></rect>`,
			i%2, x0, plotTop, math.Max(x1-x0, 0), ih, esc(ph.Name))
		if x1-x0 >= 36 {
			fmt.Fprintf(&b, `<text class="phase" x="%.1f" y="%d">%s</text>`, x0+3, plotTop+11, esc(fitText(ph.Name, x1-x0-6)))
		}
	}
	for v := 0.0; v <= yMax+yStep/2; v += yStep {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/><text class="ytick" x="%d" y="%.1f">%s</text>`,
			plotLeft, y(v), plotWidth-plotRight, y(v), plotLeft-6, y(v)+4, Thousands(int(v)))
	}
	tStep := niceStep(tMax / 10)
	for t := 0.0; t <= tMax+1e-9; t += tStep {
		fmt.Fprintf(&b, `<text class="xtick" x="%.1f" y="%d">%ss</text>`, x(t), plotHeight-10, trimFloat(t))
	}
	fmt.Fprintf(&b, `<text class="unit" x="4" y="%d">%s</text>`, plotTop-6, esc(unit))
	for i, l := range lines {
		pts := make([]string, 0, n)
		for j, v := range l.values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(res.Series[j].T), y(v)))
		}
		fmt.Fprintf(&b, `<polyline class="line %s" data-name="%s" points="%s"/>`, l.class, esc(l.name), strings.Join(pts, " "))
		lx := plotWidth - plotRight - 170*(len(lines)-i)
		fmt.Fprintf(&b, `<line class="line %s" x1="%d" y1="28" x2="%d" y2="28"/><text class="legend" x="%d" y="32">%s</text>`,
			l.class, lx, lx+18, lx+22, esc(l.name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped by esc
}

// niceScale rounds a maximum up to 1, 2 or 5 times a power of ten and returns the tick
// step (about five ticks).
func niceScale(v float64) (float64, float64) {
	if v <= 0 {
		return 1, 1
	}
	step := niceStep(v / 5)
	return math.Ceil(v/step) * step, step
}

func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return math.Max(m*p, 1)
		}
	}
	return 10 * p
}

func trimFloat(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%.0f", v), ".0") }

// fitText cuts a label to about what fits in width units (6.2 units a character at 11px).
func fitText(s string, width float64) string {
	n := int(width / 6.2)
	if r := []rune(s); len(r) > n && n > 1 {
		return string(r[:n-1]) + "…"
	}
	return s
}

var loadPage = template.Must(template.New("load").Funcs(template.FuncMap{"thousands": Thousands}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pickupsim load rehearsal: {{.R.Name}}</title>
<style>
body{font-family:sans-serif;margin:1em 2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;font-size:13px}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#17652a}.fail{color:#b00020}
#verdict{font-size:20px;font-weight:bold}
svg.plot{display:block;margin:.6em 0;background:#fff}
svg.plot text{font-size:11px;font-family:sans-serif;fill:#333}
svg.plot .title{font-weight:bold;font-size:13px}
svg.plot .ytick{text-anchor:end}svg.plot .xtick{text-anchor:middle}
svg.plot .grid{stroke:#e4e4e4}
svg.plot .band.b0{fill:#f3f6fb}svg.plot .band.b1{fill:#fbf8f1}
svg.plot .phase{fill:#555;font-style:italic}
svg.plot .line{fill:none;stroke-width:1.8}
svg.plot .normal,svg.plot .ok{stroke:#17652a}
svg.plot .resiliency,svg.plot .ok2{stroke:#d68100}
svg.plot .offline,svg.plot .refused{stroke:#b00020}
svg.plot .refused2{stroke:#7a1fa2}
svg.plot .up{stroke:#1a4d8f}
.example{color:#555;font-size:12px}
section.phase{margin-top:1.5em}
</style></head><body>
<h1>Load rehearsal: {{.R.Name}}</h1>
<p>{{.R.Description}}</p>
<p id="verdict" class="{{if .R.Passed}}pass">PASS{{else}}fail">FAIL{{end}}: {{.Checks}} expectations, {{.Failed}} failed</p>
<p id="setup">{{thousands .R.Users}} users on {{len .R.Pools}} pools ({{thousands .R.TCPPhones}} on TCP); {{.Traffic}}.
File {{.R.File}}; started {{.R.Started.Format "2006-01-02 15:04:05"}}, ran {{.R.Wall}};
host: {{.R.Host.CPUs}} CPUs, load average {{.R.Host.LoadAverage}} at the start.</p>
{{if .R.Error}}<p class="fail">error: {{.R.Error}}</p>{{end}}
{{range .R.Warnings}}<p>warning: {{.}}</p>{{end}}
<h2>Expectations</h2>
<table id="checks"><tr><th>phase</th><th>line</th><th>expectation</th><th>result</th><th>what was found</th></tr>
{{range .R.Phases}}{{$ph := .Name}}{{range .Checks}}<tr class="{{if .Passed}}pass{{else}}fail{{end}}"><td>{{$ph}}</td><td>{{.Line}}</td><td><code>{{.Text}}</code></td><td>{{if .Passed}}pass{{else}}FAIL{{end}}</td><td>{{.Got}}</td></tr>
{{end}}{{end}}</table>
<h2>Over time</h2>
{{range .Plots}}{{.}}{{end}}
<h2>Phases</h2>
{{range .R.Phases}}<section class="phase" data-phase="{{.Name}}">
<h3>{{.Name}} <small>({{.Start}} to {{.End}}{{if .Line}}, line {{.Line}}{{end}})</small></h3>
{{range .Actions}}<p>at {{.At}}: {{if .Error}}<span class="fail">{{.Text}}: {{.Error}}</span>{{else}}{{.Detail}}{{end}}</p>{{end}}
<table class="ops"><tr><th>operation</th><th>attempts</th><th>ok</th><th>refused</th><th>p50 setup</th><th>p99 setup</th><th>refusals by code and reason (first Warning)</th></tr>
{{range .Ops}}<tr><td>{{.Kind}}</td><td class="n">{{thousands .Attempts}}</td><td class="n">{{thousands .OK}}</td><td class="n">{{thousands .Refused}}</td><td class="n">{{.P50}}</td><td class="n">{{.P99}}</td><td>{{if .Redirected}}{{thousands .Redirected}}× 301 Moved Permanently<br>{{end}}{{range .Refusals}}{{thousands .Count}}× {{.}}{{if .Example}} <span class="example">{{.Example}}</span>{{end}}<br>{{end}}</td></tr>
{{end}}</table>
{{range .Recoveries}}<p class="recovery">back in service: {{.What}}: {{thousands .Back}} of {{thousands .Users}}, p50 {{.P50}}, p99 {{.P99}}, the last after {{.Max}}</p>{{end}}
{{with .RTP}}<p class="rtp">RTP: {{.Up}} of {{.Calls}} measured calls up at the end of the phase, {{.Lost}} packets lost of {{thousands .Received}} received; longest pause so far {{.MaxGap}}</p>{{end}}
</section>
{{end}}
{{with .R.RTP}}{{if .Calls}}<h2>Measured calls</h2><p>{{.Calls}} calls ({{.Direct}} direct, {{.PickedUp}} picked up), {{.UpAtEnd}} up at the end; {{thousands .Sent}} packets sent, {{thousands .Received}} received, {{.Lost}} lost; longest pause {{.MaxGap}}.</p>
{{if .HangUps}}<details><summary>how each was hung up</summary><pre>{{range .HangUps}}{{.}}
{{end}}</pre></details>{{end}}{{end}}{{end}}
</body></html>
`))
