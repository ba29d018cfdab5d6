package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/pickupsim/pickupsim/scenarios/runner"
)

// Ladder geometry, in SVG user units.
const (
	laneWidth = 170
	rowHeight = 22
	topMargin = 40
)

// HTML writes a self-contained page (no scripts or files fetched): a summary table and,
// per scenario, its failures, its steps and a SIP ladder with the pools and phones as lanes.
func HTML(w io.Writer, results []runner.Result) error {
	type view struct {
		runner.Result
		Ladder template.HTML
	}
	var vs []view
	passed := 0
	for _, r := range results {
		if r.Passed {
			passed++
		}
		vs = append(vs, view{Result: r, Ladder: ladder(r)})
	}
	return page.Execute(w, map[string]any{"Results": vs, "Passed": passed, "Failed": len(results) - passed})
}

// ladder draws a scenario's SIP messages as an SVG sequence diagram, with a band for each
// step that sent messages.
func ladder(r runner.Result) template.HTML {
	if len(r.Lanes) == 0 {
		return ""
	}
	lanes := usedLanes(r)
	x := map[string]int{}
	for i, l := range lanes {
		x[l.Name] = laneWidth/2 + i*laneWidth
	}
	rows := 0
	var body strings.Builder
	lastStep := -1
	for _, m := range r.Messages {
		if m.Step != lastStep && m.Step < len(r.Steps) {
			lastStep = m.Step
			y := topMargin + rows*rowHeight + 14
			fmt.Fprintf(&body, `<text class="step" x="4" y="%d">line %d: %s</text>`, y, r.Steps[m.Step].Line, esc(r.Steps[m.Step].Text))
			rows++
		}
		x1, ok1 := x[m.From]
		x2, ok2 := x[m.To]
		if !ok1 || !ok2 {
			continue
		}
		y := topMargin + rows*rowHeight + 14
		cls := "req"
		if strings.HasPrefix(m.Summary, "SIP/2.0") {
			cls = "res"
		}
		fmt.Fprintf(&body, `<line class="%s" x1="%d" y1="%d" x2="%d" y2="%d" marker-end="url(#arrow)"/>`, cls, x1, y, x2, y)
		fmt.Fprintf(&body, `<text class="msg" x="%d" y="%d"><title>%s</title>%s</text>`, (x1+x2)/2, y-4, esc(m.Raw), esc(label(m.Summary)))
		rows++
	}
	height := topMargin + (rows+1)*rowHeight
	width := len(lanes) * laneWidth
	var svg strings.Builder
	fmt.Fprintf(&svg, `<svg class="ladder" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`, width, height, width, height)
	svg.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>`)
	for _, l := range lanes {
		cls := "phone"
		if l.Pool {
			cls = "pool"
		}
		fmt.Fprintf(&svg, `<text class="lane %s" x="%d" y="20">%s</text><line class="life" x1="%d" y1="28" x2="%d" y2="%d"/>`,
			cls, x[l.Name], esc(l.Name), x[l.Name], x[l.Name], height)
	}
	svg.WriteString(body.String())
	svg.WriteString(`</svg>`)
	return template.HTML(svg.String()) //nolint:gosec // every text is escaped by esc
}

// usedLanes are the lanes a ladder draws: every pool, and the phones that sent or
// received a message (a phone that never registered only widens the picture).
func usedLanes(r runner.Result) []runner.Lane {
	used := map[string]bool{}
	for _, m := range r.Messages {
		used[m.From], used[m.To] = true, true
	}
	var out []runner.Lane
	for _, l := range r.Lanes {
		if l.Pool || used[l.Name] {
			out = append(out, l)
		}
	}
	return out
}

// label shortens a start line to what a ladder shows: "INVITE sip:100@..." or "180 Ringing".
func label(summary string) string {
	if rest, ok := strings.CutPrefix(summary, "SIP/2.0 "); ok {
		return rest
	}
	if i := strings.Index(summary, " SIP/2.0"); i > 0 {
		summary = summary[:i]
	}
	if len(summary) > 40 {
		summary = summary[:40] + "…"
	}
	return summary
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// roundMS rounds a real duration for people: 14ms, 1.25s.
func roundMS(d time.Duration) string { return d.Round(time.Millisecond).String() }

var page = template.Must(template.New("report").Funcs(template.FuncMap{"ms": roundMS}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pickupsim replay</title>
<style>
body{font-family:sans-serif;margin:1em 2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;font-size:13px}
.pass{color:#17652a}.fail{color:#b00020}
pre{background:#f6f6f6;padding:6px;white-space:pre-wrap}
svg.ladder text{font-size:11px;font-family:monospace}
svg.ladder .lane{text-anchor:middle;font-weight:bold;font-size:12px}
svg.ladder .pool{fill:#1a4d8f}
svg.ladder .life{stroke:#bbb;stroke-dasharray:4 3}
svg.ladder .req{stroke:#1a4d8f}svg.ladder .res{stroke:#17652a;stroke-dasharray:5 2}
svg.ladder .msg{text-anchor:middle}
svg.ladder .msg,svg.ladder .step{paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}
svg.ladder .step{fill:#7a4b00;font-style:italic}
details{margin:1em 0}
</style></head><body>
<h1>pickupsim replay</h1>
<p id="summary">{{.Passed}} passed, {{.Failed}} failed</p>
<table><tr><th>scenario</th><th>result</th><th>file</th><th>real</th><th>simulated</th><th>SIP messages</th></tr>
{{range .Results}}<tr><td><a href="#{{.File}}">{{.Name}}</a></td><td class="{{if .Passed}}pass">pass{{else}}fail">FAIL{{end}}</td><td>{{.File}}</td><td>{{ms .Wall}}</td><td>{{.Simulated}}</td><td>{{len .Messages}}</td></tr>
{{end}}</table>
{{range .Results}}
<section class="scenario" id="{{.File}}">
<h2 class="{{if .Passed}}pass{{else}}fail{{end}}">{{.Name}}</h2>
<p>{{.Description}}</p>
{{if .Error}}<pre class="fail">{{.Error}}</pre>{{end}}
{{if .Failures}}<pre class="fail">{{range .Failures}}{{.String}}
{{end}}</pre>{{end}}
{{range .Warnings}}<p>warning: {{.}}</p>{{end}}
<details><summary>{{len .Steps}} steps</summary><table><tr><th>line</th><th>step</th><th>sim time</th><th>real</th><th>what happened</th></tr>
{{range .Steps}}<tr class="{{if .Passed}}pass{{else}}fail{{end}}"><td>{{.Line}}</td><td><code>{{.Text}}</code></td><td>{{.SimTime}}</td><td>{{ms .Elapsed}}</td><td>{{.Detail}}</td></tr>
{{end}}</table></details>
<details open><summary>SIP ladder</summary>{{.Ladder}}</details>
</section>
{{end}}
</body></html>
`))
