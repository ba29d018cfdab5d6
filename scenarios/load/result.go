package load

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip/loadphone"
)

// Duration is a time.Duration that JSON writes in milliseconds (as the replay reports do).
type Duration time.Duration

// MarshalJSON writes milliseconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64)), nil
}

// UnmarshalJSON reads milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*d = Duration(v * float64(time.Millisecond))
	return nil
}

// String renders it for people: 14ms, 1.25s.
func (d Duration) String() string { return roundDur(time.Duration(d)) }

// Result is what a rehearsal measured: the figures of every phase, the per-second series,
// and whether each expectation held. It is the JSON report as written.
type Result struct {
	Name        string           `json:"name"`
	Description string           `json:"description,omitempty"`
	File        string           `json:"file"`
	Started     time.Time        `json:"started"`
	Wall        Duration         `json:"wall_ms"`
	Host        Host             `json:"host"`
	Users       int              `json:"users"`
	TCPPhones   int              `json:"tcp_phones"`
	Pools       []PoolInfo       `json:"pools"`
	Traffic     scenario.Traffic `json:"traffic"`
	// Phases[0] is the phones' first registration; the timeline's phases follow.
	Phases []PhaseResult   `json:"phases"`
	Series []Sample        `json:"series"`
	RTP    RTPSummary      `json:"rtp"`
	Wire   loadphone.Stats `json:"wire"`
	// Skipped counts calls the traffic did not place: no registered phone could.
	Skipped  int      `json:"skipped"`
	Warnings []string `json:"warnings,omitempty"`
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// Host is the machine the rehearsal ran on: figures mean little without it.
type Host struct {
	CPUs        int    `json:"cpus"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	LoadAverage string `json:"load_average"` // /proc/loadavg when the rehearsal started
}

// PoolInfo is one pool of the generated deployment.
type PoolInfo struct {
	FQDN    string `json:"fqdn"`
	Address string `json:"address"`
	Backup  string `json:"backup"`
}

// PhaseResult is one phase: its actions, what each kind of operation came to, the users
// its actions moved, and the measured calls' media.
type PhaseResult struct {
	Name       string         `json:"name"`
	Line       int            `json:"line,omitempty"`
	Start      Duration       `json:"start_ms"` // since the rehearsal started
	End        Duration       `json:"end_ms"`
	For        Duration       `json:"for_ms,omitempty"`
	Actions    []ActionResult `json:"actions,omitempty"`
	Ops        []OpStats      `json:"ops"`
	Recoveries []Recovery     `json:"recoveries,omitempty"`
	RTP        *PhaseRTP      `json:"rtp,omitempty"`
	Checks     []Check        `json:"checks,omitempty"`
}

// ActionResult is one administrator action of a phase.
type ActionResult struct {
	Line   int      `json:"line"`
	Text   string   `json:"text"`
	Detail string   `json:"detail"`
	Error  string   `json:"error,omitempty"`
	At     Duration `json:"at_ms"`
}

// OpStats sums one kind of operation over a phase.
type OpStats struct {
	Kind     string `json:"kind"`
	Attempts int    `json:"attempts"`
	OK       int    `json:"ok"`
	// Redirected counts REGISTERs answered 301 (sent to the pool that serves the user).
	Redirected int       `json:"redirected,omitempty"`
	Refusals   []Refusal `json:"refusals,omitempty"`
	P50        Duration  `json:"p50_ms"`
	P99        Duration  `json:"p99_ms"`
	Max        Duration  `json:"max_ms"`
}

// Refused is how many attempts were refused (or unanswered).
func (s OpStats) Refused() int { return s.Attempts - s.OK - s.Redirected }

// Refusal is one kind of refusal and how often it came.
type Refusal struct {
	Code       int    `json:"code"`
	Reason     string `json:"reason"`
	Diagnostic int    `json:"diagnostic,omitempty"`
	Count      int    `json:"count"`
	Example    string `json:"example,omitempty"` // the Warning of the first one
}

func (r Refusal) String() string {
	s := fmt.Sprintf("%d %s", r.Code, r.Reason)
	if r.Diagnostic != 0 {
		s += fmt.Sprintf(" (%d)", r.Diagnostic)
	}
	return s
}

// Recovery is how long the users an action moved took to register where they are served.
type Recovery struct {
	What  string `json:"what"`
	Pool  string `json:"pool"`
	Users int    `json:"users"`
	Back  int    `json:"back"`
	// Reference is when service could resume (for an outage: when the registrar failover
	// timer ran out), since the rehearsal started; the durations count from it.
	Reference Duration `json:"reference_ms"`
	P50       Duration `json:"p50_ms"`
	P99       Duration `json:"p99_ms"`
	Max       Duration `json:"max_ms"` // the last user back
}

// PhaseRTP is the measured calls' media over a phase.
type PhaseRTP struct {
	Calls    int `json:"calls"`
	Up       int `json:"up"`   // both sides still established at the phase's end
	Lost     int `json:"lost"` // packets lost in the phase
	Received int `json:"received"`
	// MaxGap is the longest pause in any measured stream since the calls started.
	MaxGap Duration `json:"max_gap_ms"`
}

// RTPSummary is the measured calls over the whole rehearsal.
type RTPSummary struct {
	Calls       int      `json:"calls"`
	Direct      int      `json:"direct"`
	PickedUp    int      `json:"picked_up"`
	UpAtEnd     int      `json:"up_at_end"`
	Sent        int      `json:"sent"`
	Received    int      `json:"received"`
	Lost        int      `json:"lost"`
	MaxGap      Duration `json:"max_gap_ms"`
	HangUps     []string `json:"hang_ups,omitempty"`
	SetupErrors []string `json:"setup_errors,omitempty"`
}

// Check is one expectation and what was found.
type Check struct {
	Line   int    `json:"line"`
	Text   string `json:"text"`
	Passed bool   `json:"passed"`
	Got    string `json:"got"`
}

// Sample is one second of the rehearsal.
type Sample struct {
	T     float64 `json:"t"` // seconds since the rehearsal started
	Phase int     `json:"phase"`
	// Phones registered by mode, as the phones know it.
	Normal        int `json:"normal"`
	Resiliency    int `json:"resiliency"`
	Offline       int `json:"offline"`
	CallsUp       int `json:"calls_up"`
	RegistersSent int `json:"registers_sent"`
	// OK and Refused count, per operation kind, what ended in this second.
	OK      map[string]int `json:"ok"`
	Refused map[string]int `json:"refused"`
}

func newResult(rh *scenario.Rehearsal) *Result {
	return &Result{Name: rh.Name, Description: rh.Description, File: rh.File, Started: time.Now(), Host: hostInfo(), Traffic: rh.Traffic}
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// build sums the operations per phase and checks every expectation.
func (res *Result) build(m *metrics, rh *scenario.Rehearsal) {
	m.mu.Lock()
	ops := m.ops
	m.mu.Unlock()
	res.Series = m.samples
	for i := range res.Phases {
		ph := &res.Phases[i]
		for k := range numKinds {
			st := opStats(k, ops, func(o op) bool { return int(o.phase) == i }, m.examples)
			if st.Attempts > 0 {
				ph.Ops = append(ph.Ops, st)
			}
		}
	}
	m.trackMu.Lock()
	for _, t := range m.trackers {
		res.Phases[t.phase].Recoveries = append(res.Phases[t.phase].Recoveries, t.summary())
	}
	m.trackMu.Unlock()
	for j, ph := range rh.Phases {
		idx := j + 1
		if idx >= len(res.Phases) {
			break
		}
		for _, e := range ph.Expect {
			c := res.check(idx, e, ops, m)
			res.Phases[idx].Checks = append(res.Phases[idx].Checks, c)
			if !c.Passed {
				res.Failures = append(res.Failures, fmt.Sprintf("%s:%d: phase %s: %s: %s", rh.File, e.Line, ph.Name, e.Text, c.Got))
			}
		}
	}
	res.Passed = res.Error == "" && len(res.Failures) == 0
}

// opStats sums the operations of kind k that keep selects.
func opStats(k kind, ops []op, keep func(op) bool, examples map[refusalKey]string) OpStats {
	st := OpStats{Kind: k.String()}
	var setups []time.Duration
	refusals := map[refusalKey]int{}
	first := map[refusalKey]string{} // the example of the first such refusal kept
	for _, o := range ops {
		if o.kind != k || !keep(o) {
			continue
		}
		st.Attempts++
		switch {
		case o.ok():
			st.OK++
			setups = append(setups, o.setup)
		case o.redirected:
			st.Redirected++
		default:
			key := refusalKey{kind: k, code: o.code, diag: o.diag, reason: o.reason}
			if _, seen := refusals[key]; !seen {
				ex := key
				ex.phase = o.phase
				first[key] = examples[ex]
			}
			refusals[key]++
		}
	}
	for key, n := range refusals {
		st.Refusals = append(st.Refusals, Refusal{Code: int(key.code), Reason: key.reason, Diagnostic: int(key.diag), Count: n, Example: first[key]})
	}
	slices.SortFunc(st.Refusals, func(a, b Refusal) int { return cmp.Or(b.Count-a.Count, a.Code-b.Code) })
	st.P50, st.P99, st.Max = percentiles(setups)
	return st
}

// percentiles returns the 50th and 99th percentiles and the maximum (nearest rank).
func percentiles(d []time.Duration) (p50, p99, maxD Duration) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	rank := func(p float64) Duration {
		i := int(p*float64(len(d))+0.999999) - 1
		return Duration(d[min(max(i, 0), len(d)-1)])
	}
	return rank(0.50), rank(0.99), Duration(d[len(d)-1])
}

func (t *tracker) summary() Recovery {
	r := Recovery{What: t.what, Users: len(t.backAt), Back: t.back, Reference: Duration(t.ref)}
	var after []time.Duration
	for _, at := range t.backAt {
		if at >= 0 {
			after = append(after, max(at-t.ref, 0))
		}
	}
	r.P50, r.P99, r.Max = percentiles(after)
	return r
}

// check evaluates one expectation of phase idx.
func (res *Result) check(idx int, e scenario.LoadExpectation, ops []op, m *metrics) Check {
	c := Check{Line: e.Line, Text: e.Text}
	if e.Of == scenario.OpRTP {
		return res.checkRTP(idx, e, c)
	}
	k, _ := kindOf(e.Of)
	pool := 0
	if e.By != "" {
		for i, p := range res.Pools {
			if p.FQDN == e.By {
				pool = i + 1
			}
		}
	}
	st := opStats(k, ops, func(o op) bool { return int(o.phase) == idx && (pool == 0 || int(o.pool) == pool) }, m.examples)
	who := e.Of
	if e.By != "" {
		who += " by users of " + e.By
	}
	var got []string
	pass := true
	fail := func(format string, args ...any) {
		pass = false
		got = append(got, fmt.Sprintf(format, args...))
	}
	note := func(format string, args ...any) { got = append(got, fmt.Sprintf(format, args...)) }
	if e.BackWithin > 0 {
		ok, text := res.checkBack(idx, e.BackWithin)
		if !ok {
			fail("%s", text)
		} else {
			note("%s", text)
		}
	}
	if e.Succeed != nil || e.Refused != 0 || e.P50 != nil || e.P99 != nil {
		if st.Attempts < e.Min {
			fail("only %d %s attempted (want at least %d)", st.Attempts, who, e.Min)
		}
	}
	if e.Succeed != nil && st.Attempts > 0 {
		share := 100 * float64(st.OK) / float64(st.Attempts)
		text := fmt.Sprintf("%s succeeded: %s of %d%s", who, pct(share), st.Attempts, refusalsText(st))
		if e.Succeed.Holds(share) {
			note("%s", text)
		} else {
			fail("%s (want %s)", text, e.Succeed.Text)
		}
	}
	if e.Refused != 0 && st.Attempts > 0 {
		n := 0
		for _, r := range st.Refusals {
			if r.Code == e.Refused {
				n += r.Count
			}
		}
		share := 100 * float64(n) / float64(st.Attempts)
		want := e.Share
		if want == nil {
			want = &scenario.Comparison{Op: "=", Value: 100, Unit: "%", Text: "all of them"}
		}
		text := fmt.Sprintf("%s refused with %d: %s of %d%s", who, e.Refused, pct(share), st.Attempts, refusalsText(st))
		if want.Holds(share) {
			note("%s", text)
		} else {
			fail("%s (want %s)", text, want.Text)
		}
	}
	for _, q := range []struct {
		name string
		c    *scenario.Comparison
		v    Duration
	}{{"p50", e.P50, st.P50}, {"p99", e.P99, st.P99}} {
		if q.c == nil {
			continue
		}
		switch {
		case st.OK == 0:
			fail("no %s succeeded, so no %s setup time", who, q.name)
		case q.c.Holds(time.Duration(q.v).Seconds()):
			note("%s setup time of %s: %s", q.name, who, q.v)
		default:
			fail("%s setup time of %s: %s (want %s)", q.name, who, q.v, q.c.Text)
		}
	}
	c.Passed, c.Got = pass, strings.Join(got, "; ")
	return c
}

// checkBack checks that every user the phase's actions moved was back within d.
func (res *Result) checkBack(idx int, d time.Duration) (bool, string) {
	recs := res.Phases[idx].Recoveries
	if len(recs) == 0 {
		return false, "no action of this phase took users out of service or resiliency mode"
	}
	ok := true
	var parts []string
	for _, r := range recs {
		switch {
		case r.Back < r.Users:
			ok = false
			parts = append(parts, fmt.Sprintf("%s: only %d of %d", r.What, r.Back, r.Users))
		case time.Duration(r.Max) > d:
			ok = false
			parts = append(parts, fmt.Sprintf("%s: all %d, the last after %s (want within %s)", r.What, r.Users, r.Max, d))
		default:
			parts = append(parts, fmt.Sprintf("%s: all %d within %s (p99 %s)", r.What, r.Users, r.Max, r.P99))
		}
	}
	return ok, strings.Join(parts, "; ")
}

func (res *Result) checkRTP(idx int, e scenario.LoadExpectation, c Check) Check {
	r := res.Phases[idx].RTP
	if r == nil || r.Calls == 0 {
		c.Got = "no measured call carried RTP (traffic.rtpCalls)"
		return c
	}
	c.Passed = true
	var got []string
	if e.Lost != nil {
		text := fmt.Sprintf("%d RTP packets lost of %d received on %d measured calls (%d up at the phase's end)", r.Lost, r.Received, r.Calls, r.Up)
		if !e.Lost.Holds(float64(r.Lost)) {
			c.Passed = false
			text += " (want " + e.Lost.Text + ")"
		}
		got = append(got, text)
	}
	if e.MaxGap != nil {
		text := fmt.Sprintf("longest pause in media %s", r.MaxGap)
		if !e.MaxGap.Holds(time.Duration(r.MaxGap).Seconds()) {
			c.Passed = false
			text += " (want " + e.MaxGap.Text + ")"
		}
		got = append(got, text)
	}
	c.Got = strings.Join(got, "; ")
	return c
}

func refusalsText(st OpStats) string {
	if len(st.Refusals) == 0 {
		return ""
	}
	var parts []string
	for i, r := range st.Refusals {
		if i == 3 {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, fmt.Sprintf("%d× %s", r.Count, r))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func pct(v float64) string {
	switch {
	case v == 100 || v == 0:
		return fmt.Sprintf("%.0f%%", v)
	case v > 99.9:
		return fmt.Sprintf("%.3f%%", v)
	}
	return fmt.Sprintf("%.1f%%", v)
}

// roundDur rounds a duration for people: 14ms, 1.25s.
func roundDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
