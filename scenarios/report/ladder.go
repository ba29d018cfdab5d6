package report

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"

	"github.com/pickupsim/pickupsim/scenarios/runner"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

// Ladder geometry, in SVG user units (CSS pixels).
const (
	laneWidth = 180
	topMargin = 40 // the lane names are above it
	msgRow    = 22 // a message: its label, then its arrow
	stepRow   = 19 // a line of a step's heading
	eventRow  = 28 // the markers of a step's event on the pools' lifelines
	detailRow = 15 // a line of a refusal's Warning or ms-diagnostics
	// charWidth is the advance of one character of the ladder's 11 px monospace font
	// (DejaVu Sans Mono and Liberation Mono: 0.6 em), rounded up: text is wrapped and
	// boxed with it.
	charWidth = 6.7
	// namesEvery is how far down a long ladder its lane names are written again (at the
	// next step), so that a reader far from the top still knows which lifeline is whose.
	namesEvery = 900
	// minWrap is the fewest characters a wrapped line may hold before the text moves to the
	// ladder's left edge.
	minWrap = 48
)

// ladder draws a scenario as an SVG sequence diagram: a lane per pool and phone; every
// step as a heading, with the SIP messages it set off beneath it; the step's event, if it
// has one (an outage, a failover, a cmdlet), as a marker on the lifelines of the pools it
// concerns; each refusal's Warning and ms-diagnostics written under its arrow; and each
// pool's lifeline drawn as the pool was: up, down, or failing over or back.
func ladder(r runner.Result) template.HTML {
	if len(r.Lanes) == 0 {
		return ""
	}
	d := newDrawing(r)
	mi := 0
	for i, st := range r.Steps {
		d.step(st)
		for ; mi < len(r.Messages) && r.Messages[mi].Step <= i; mi++ {
			d.message(r.Messages[mi], st.Line)
		}
	}
	for ; mi < len(r.Messages); mi++ {
		d.message(r.Messages[mi], 0)
	}
	return d.svg()
}

// drawing is a ladder being drawn, top to bottom.
type drawing struct {
	lanes []runner.Lane
	x     map[string]int
	width int
	y     int // the top of the next row
	named int // the y of the last row of lane names
	// bands are the steps' backgrounds, drawn beneath the lifelines; body is the rest,
	// drawn above them.
	bands, body strings.Builder
	// pools is each pool's state as the steps so far left it, and where it changed.
	pools map[string]*poolLife
}

// poolLife is a pool's lifeline: its state now, and the y where each stretch began.
type poolLife struct {
	down, recovering bool // an outage; a failover or failback under way
	marks            []lifeMark
}

type lifeMark struct {
	y     int
	class string
}

func newDrawing(r runner.Result) *drawing {
	d := &drawing{lanes: usedLanes(r), x: map[string]int{}, y: topMargin, pools: map[string]*poolLife{}}
	for i, l := range d.lanes {
		d.x[l.Name] = laneWidth/2 + i*laneWidth
		if l.Pool {
			d.pools[l.Name] = &poolLife{marks: []lifeMark{{y: 28, class: "up"}}}
		}
	}
	d.width = max(len(d.lanes)*laneWidth, 600)
	return d
}

// step draws a step's heading ("line 19 +0s outage: pool01"), what its event did and any
// failure, then its event's markers.
func (d *drawing) step(st runner.StepResult) {
	if d.y-d.named > namesEvery {
		d.laneNames()
	}
	cls := "step"
	switch {
	case !st.Passed:
		cls += " failed"
	case st.Kind == scenario.Expect:
		cls += " check"
	case st.Event != nil:
		cls += " dr"
	}
	heading := fmt.Sprintf("line %d  +%s  %s", st.Line, st.SimTime, stepText(st.Text))
	if st.Event != nil || !st.Passed {
		heading += "  →  " + st.Detail
	}
	lines := wrap(heading, d.chars(4))
	for _, f := range st.Failures {
		lines = append(lines, wrap("✗ expected "+f.Expected+", got "+f.Actual, d.chars(4))...)
	}
	fmt.Fprintf(&d.bands, `<rect class="band%s" data-line="%d" x="0" y="%d" width="%d" height="%d"/>`,
		strings.TrimPrefix(cls, "step"), st.Line, d.y+2, d.width, len(lines)*stepRow)
	fmt.Fprintf(&d.body, `<g class="%s" data-line="%d">`, cls, st.Line)
	for i, l := range lines {
		fmt.Fprintf(&d.body, `<text class="step" x="4" y="%d">%s</text>`, d.y+stepRow*(i+1)-4, esc(l))
	}
	d.body.WriteString(`</g>`)
	d.y += len(lines)*stepRow + 2
	if st.Event != nil {
		d.event(st)
	}
}

// laneNames writes the lanes' names again, down the ladder.
func (d *drawing) laneNames() {
	for _, l := range d.lanes {
		fmt.Fprintf(&d.body, `<text class="lane again" data-lane="%s" x="%d" y="%d">%s</text>`, esc(l.Name), d.x[l.Name], d.y+14, esc(l.Name))
	}
	d.named = d.y
	d.y += 20
}

// event draws a step's event as a marker on each lifeline it concerns, and records what
// it did to the pools.
func (d *drawing) event(st runner.StepResult) {
	ev := st.Event
	cls, label := eventClass(st.Kind), ev.Label
	if ev.Refused != "" {
		cls, label = "refused", label+" ✗"
	}
	mid := d.y + eventRow/2
	for _, p := range ev.Pools {
		lane, ok := d.laneOf(p)
		if !ok {
			continue
		}
		w := int(float64(len([]rune(label)))*charWidth) + 14
		fmt.Fprintf(&d.body, `<g class="event %s" data-line="%d" data-pool="%s"><title>%s</title>`+
			`<rect x="%d" y="%d" width="%d" height="20" rx="4"/><text class="event" x="%d" y="%d">%s</text></g>`,
			cls, st.Line, esc(lane), esc(st.Detail), d.x[lane]-w/2, mid-10, w, d.x[lane], mid+4, esc(label))
		if ev.Refused == "" {
			d.changeLife(lane, st.Kind, mid)
		}
	}
	d.y += eventRow
}

// changeLife records what an event of kind did to a pool's lifeline, from y on.
func (d *drawing) changeLife(pool string, kind scenario.Kind, y int) {
	pl := d.pools[pool]
	if pl == nil {
		return
	}
	switch kind {
	case scenario.Outage:
		pl.down = true
	case scenario.Recover:
		pl.down = false
	case scenario.FailOver, scenario.FailBack:
		pl.recovering = true
	case scenario.FailOverComplete, scenario.FailBackComplete:
		pl.recovering = false
	default:
		return
	}
	cls := "up"
	switch {
	case pl.down:
		cls = "down"
	case pl.recovering:
		cls = "recovering"
	}
	if pl.marks[len(pl.marks)-1].class != cls {
		pl.marks = append(pl.marks, lifeMark{y: y, class: cls})
	}
}

// eventClass sorts events for their colour: a pool failing, the runbook's disaster
// recovery steps, a pool back in service, or an administrator's other cmdlets.
func eventClass(k scenario.Kind) string {
	switch k {
	case scenario.Outage, scenario.RemovePool:
		return "outage"
	case scenario.FailOver, scenario.FailBack:
		return "recovery"
	case scenario.Recover, scenario.FailOverComplete, scenario.FailBackComplete, scenario.AddPool:
		return "restored"
	}
	return "cmdlet"
}

// message draws one SIP message as an arrow with its start line above it and, for a
// refusal, its Warning and ms-diagnostics beneath it.
func (d *drawing) message(m runner.Message, line int) {
	x1, ok1 := d.x[m.From]
	x2, ok2 := d.x[m.To]
	if !ok1 || !ok2 {
		return
	}
	code := statusCode(m.Summary)
	cls := "req"
	if code > 0 {
		cls = "res"
	}
	if refusal(code) {
		cls += " refusal"
	}
	y := d.y + msgRow - 6
	fmt.Fprintf(&d.body, `<line class="%s" x1="%d" y1="%d" x2="%d" y2="%d" marker-end="url(#arrow)"/>`, cls, x1, y, x2, y)
	fmt.Fprintf(&d.body, `<text class="msg%s" data-line="%d" x="%d" y="%d"><title>%s</title>%s</text>`,
		map[bool]string{true: " refusal"}[refusal(code)], line, (x1+x2)/2, y-4, esc(m.Raw), esc(label(m.Summary)))
	d.y += msgRow
	if code > 0 {
		d.details(m, line, min(x1, x2))
	}
}

// details writes under a response the headers that say why it was sent: Lync's
// ms-diagnostics and the Warning (RFC 3261 §20.43), and Retry-After on a 503.
func (d *drawing) details(m runner.Message, line, x int) {
	var lines []string
	for _, name := range []string{"Warning", "ms-diagnostics", "Retry-After"} {
		for _, v := range headerValues(m.Raw, name) {
			lines = append(lines, name+": "+v)
		}
	}
	if len(lines) == 0 {
		return
	}
	x += 6
	if d.chars(x) < minWrap {
		x = 4
	}
	var wrapped []string
	for _, l := range lines {
		wrapped = append(wrapped, wrap(l, d.chars(x))...)
	}
	longest := 0
	for _, l := range wrapped {
		longest = max(longest, len([]rune(l)))
	}
	fmt.Fprintf(&d.body, `<g class="details" data-line="%d"><rect x="%d" y="%d" width="%d" height="%d" rx="3"/>`,
		line, x-3, d.y-2, int(float64(longest)*charWidth)+6, len(wrapped)*detailRow+2)
	for i, l := range wrapped {
		fmt.Fprintf(&d.body, `<text class="detail" x="%d" y="%d">%s</text>`, x, d.y+detailRow*(i+1)-4, esc(l))
	}
	d.body.WriteString(`</g>`)
	d.y += len(wrapped)*detailRow + 4
}

// svg assembles the drawing: lane names, lifelines as each pool was, then the rows.
func (d *drawing) svg() template.HTML {
	height := d.y + msgRow
	var svg strings.Builder
	fmt.Fprintf(&svg, `<svg class="ladder" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`,
		d.width, height, d.width, height)
	svg.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>`)
	svg.WriteString(d.bands.String())
	for _, l := range d.lanes {
		x := d.x[l.Name]
		cls := "phone"
		if l.Pool {
			cls = "pool"
		}
		fmt.Fprintf(&svg, `<text class="lane %s" data-lane="%s" x="%d" y="20"><title>%s</title>%s</text>`, cls, esc(l.Name), x, esc(l.Addr), esc(l.Name))
		pl := d.pools[l.Name]
		if pl == nil {
			fmt.Fprintf(&svg, `<line class="life" x1="%d" y1="28" x2="%d" y2="%d"/>`, x, x, height)
			continue
		}
		for i, m := range pl.marks {
			end := height
			if i+1 < len(pl.marks) {
				end = pl.marks[i+1].y
			}
			fmt.Fprintf(&svg, `<line class="life %s" data-pool="%s" x1="%d" y1="%d" x2="%d" y2="%d"/>`, m.class, esc(l.Name), x, m.y, x, end)
		}
	}
	svg.WriteString(d.body.String())
	svg.WriteString(`</svg>`)
	return template.HTML(svg.String()) //nolint:gosec // every text is escaped by esc
}

// laneOf finds the lane of a pool an event names: its FQDN, or its short name.
func (d *drawing) laneOf(pool string) (string, bool) {
	for _, l := range d.lanes {
		if l.Pool && (l.Name == pool || strings.HasPrefix(l.Name, pool+".")) {
			return l.Name, true
		}
	}
	return "", false
}

// chars is how many characters fit on a line that starts at x.
func (d *drawing) chars(x int) int {
	return int(float64(d.width-x-8) / charWidth)
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

// stepText is a step as written, without the braces of YAML's flow style.
func stepText(s string) string {
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		return s[1 : len(s)-1]
	}
	return s
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

// statusCode is a response's status code, 0 for a request.
func statusCode(summary string) int {
	rest, ok := strings.CutPrefix(summary, "SIP/2.0 ")
	if !ok || len(rest) < 3 {
		return 0
	}
	code, err := strconv.Atoi(rest[:3])
	if err != nil {
		return 0
	}
	return code
}

// refusal tells a final response that refuses a request from the routine ones: a digest
// challenge (401, 407) asks for credentials, and 487 only confirms a CANCEL.
func refusal(code int) bool {
	return code >= 400 && code != 401 && code != 407 && code != 487
}

// headerValues returns the values of a message's header name, in order, compact forms
// aside (Warning and ms-diagnostics have none).
func headerValues(raw, name string) []string {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	var out []string
	for line := range strings.SplitSeq(head, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// wrap breaks s into lines of at most n characters, at spaces where it can.
func wrap(s string, n int) []string {
	n = max(n, 20)
	var out []string
	r := []rune(s)
	for len(r) > n {
		cut := n
		for i := n; i > n/2; i-- {
			if r[i] == ' ' {
				cut = i
				break
			}
		}
		out = append(out, string(r[:cut]))
		r = []rune(strings.TrimLeft(string(r[cut:]), " "))
	}
	return append(out, string(r))
}
