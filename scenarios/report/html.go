package report

import (
	"html/template"
	"io"
	"time"

	"github.com/pickupsim/pickupsim/scenarios/runner"
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
svg.ladder text{font-size:11px;font-family:"DejaVu Sans Mono","Liberation Mono",monospace}
svg.ladder .lane{text-anchor:middle;font-weight:bold;font-size:12px}
svg.ladder .pool{fill:#1a4d8f}
svg.ladder .lane.again{fill:#888;font-weight:normal;paint-order:stroke;stroke:#fff;stroke-width:4px}
svg.ladder .life{stroke:#bbb;stroke-dasharray:4 3}
svg.ladder .life.down{stroke:#c62828;stroke-width:3;stroke-dasharray:2 4}
svg.ladder .life.recovering{stroke:#e69500;stroke-width:3;stroke-dasharray:none}
svg.ladder .req{stroke:#1a4d8f}svg.ladder .res{stroke:#17652a;stroke-dasharray:5 2}
svg.ladder line.refusal{stroke:#c62828;stroke-width:1.5}
svg.ladder .msg{text-anchor:middle}
svg.ladder .msg.refusal{fill:#b00020;font-weight:bold}
svg.ladder .msg,svg.ladder .step{paint-order:stroke;stroke-width:4px;stroke-linejoin:round}svg.ladder .msg{stroke:#fff}
svg.ladder .band{fill:#f3efe6}
svg.ladder .step{fill:#7a4b00;font-style:italic;stroke:#f3efe6}
svg.ladder .band.check{fill:#f4f6f4}svg.ladder .check text.step{fill:#5b6b5b;stroke:#f4f6f4}
svg.ladder .band.dr{fill:#e8eef8}svg.ladder .dr text.step{fill:#1a3d6f;font-weight:bold;font-style:normal;stroke:#e8eef8}
svg.ladder .band.failed{fill:#fdecea}svg.ladder .failed text.step{fill:#b00020;stroke:#fdecea}
svg.ladder g.event text{text-anchor:middle;font-weight:bold;fill:#fff}
svg.ladder g.event.outage rect{fill:#c62828}svg.ladder g.event.recovery rect{fill:#e69500}
svg.ladder g.event.restored rect{fill:#2e7d32}svg.ladder g.event.cmdlet rect{fill:#1a4d8f}
svg.ladder g.event.refused rect{fill:#777}
svg.ladder .details rect{fill:#fdecea;stroke:#f1b0b7}svg.ladder .detail{fill:#8a0018}
.legend span{display:inline-block;margin-right:1.2em;font-size:13px}
.legend i{display:inline-block;width:28px;height:0;vertical-align:middle;margin-right:4px;border-top:3px solid}
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
<details open><summary>SIP ladder</summary>
<p class="legend"><span><i style="border-color:#c62828;border-top-style:dotted"></i>pool down</span><span><i style="border-color:#e69500"></i>failover or failback under way</span><span><i style="border-color:#1a4d8f"></i>request</span><span><i style="border-color:#17652a;border-top-style:dashed"></i>response</span><span><i style="border-color:#c62828"></i>refusal, with its Warning and ms-diagnostics</span></p>
{{.Ladder}}</details>
</section>
{{end}}
</body></html>
`))
