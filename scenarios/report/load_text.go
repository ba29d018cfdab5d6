package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pickupsim/pickupsim/scenarios/load"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

// LoadJSON writes a load rehearsal's result (durations in milliseconds).
func LoadJSON(w io.Writer, res *load.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// LoadText writes the per-phase table an administrator reads after a load rehearsal:
// for each phase its actions, every kind of operation (attempts, successes, refusals by
// code and reason with an example, p50/p99 setup time), how long the users its actions
// moved took to be back in service, the measured calls' RTP, and each expectation.
func LoadText(w io.Writer, res *load.Result) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "load rehearsal: %s (%s)\n", res.Name, res.File)
	fmt.Fprintf(ew, "%s users on %d pools (%s on TCP); %s\n", Thousands(res.Users), len(res.Pools), Thousands(res.TCPPhones), trafficText(res))
	fmt.Fprintf(ew, "host: %d CPUs, load average %s at the start; ran %s\n", res.Host.CPUs, res.Host.LoadAverage, res.Wall)
	for _, w := range res.Warnings {
		fmt.Fprintf(ew, "warning: %s\n", w)
	}
	for _, ph := range res.Phases {
		loadPhaseText(ew, ph)
	}
	if r := res.RTP; r.Calls > 0 {
		fmt.Fprintf(ew, "\nmeasured RTP: %d calls (%d direct, %d picked up), %d up at the end; %s packets sent, %s received, %d lost; longest pause %s\n",
			r.Calls, r.Direct, r.PickedUp, r.UpAtEnd, Thousands(r.Sent), Thousands(r.Received), r.Lost, r.MaxGap)
	}
	for _, e := range res.RTP.SetupErrors {
		fmt.Fprintf(ew, "  measured call not set up: %s\n", e)
	}
	fmt.Fprintf(ew, "wire: %s messages sent, %s received, %s retransmissions, %s TCP connections; %d calls not placed (no registered phone)\n",
		Thousands(int(res.Wire.Sent)), Thousands(int(res.Wire.Received)), Thousands(int(res.Wire.Retransmissions)), Thousands(int(res.Wire.TCPConnects)), res.Skipped)
	if res.Error != "" {
		fmt.Fprintf(ew, "error: %s\n", res.Error)
	}
	checks, failed := checkCounts(res)
	verdict := "PASS"
	if !res.Passed {
		verdict = "FAIL"
	}
	fmt.Fprintf(ew, "%s: %d expectations, %d failed\n", verdict, checks, failed)
	return ew.err
}

func loadPhaseText(w io.Writer, ph load.PhaseResult) {
	where := ""
	if ph.Line > 0 {
		where = fmt.Sprintf(", line %d", ph.Line)
	}
	fmt.Fprintf(w, "\n== %s (%s to %s%s)\n", ph.Name, ph.Start, ph.End, where)
	for _, a := range ph.Actions {
		if a.Error != "" {
			fmt.Fprintf(w, "   at %s: %s: FAILED: %s\n", a.At, a.Text, a.Error)
		} else {
			fmt.Fprintf(w, "   at %s: %s\n", a.At, a.Detail)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "   operation\tattempts\tok\trefused\tp50\tp99\t")
	for _, op := range ph.Ops {
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\t%s\t%s\t\n", op.Kind, Thousands(op.Attempts), Thousands(op.OK), Thousands(op.Refused()), op.P50, op.P99)
	}
	tw.Flush()
	for _, op := range ph.Ops {
		if op.Redirected > 0 {
			fmt.Fprintf(w, "     %s: %s× 301 Moved Permanently (sent on to the pool that serves the user)\n", op.Kind, Thousands(op.Redirected))
		}
		for i, r := range op.Refusals {
			if i == 4 {
				fmt.Fprintf(w, "     %s: ... %d more kinds of refusal\n", op.Kind, len(op.Refusals)-4)
				break
			}
			fmt.Fprintf(w, "     %s: %s× %s%s\n", op.Kind, Thousands(r.Count), r, example(r.Example))
		}
	}
	for _, r := range ph.Recoveries {
		fmt.Fprintf(w, "   back in service: %s: %s of %s, p50 %s, p99 %s, the last after %s\n",
			r.What, Thousands(r.Back), Thousands(r.Users), r.P50, r.P99, r.Max)
	}
	if r := ph.RTP; r != nil {
		fmt.Fprintf(w, "   rtp: %d of %d measured calls up at the end of the phase, %d packets lost of %s received, longest pause so far %s\n",
			r.Up, r.Calls, r.Lost, Thousands(r.Received), r.MaxGap)
	}
	for _, c := range ph.Checks {
		mark := "ok  "
		if !c.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "   %s line %d %s: %s\n", mark, c.Line, c.Text, c.Got)
	}
}

func example(s string) string {
	if s == "" {
		return ""
	}
	if r := []rune(s); len(r) > 110 {
		s = string(r[:110]) + "…"
	}
	return ": " + s
}

func trafficText(res *load.Result) string {
	t := res.Traffic
	s := fmt.Sprintf("%s calls/s, %.0f%% picked up, %.0f%% parked; ring %s, hold %s",
		strconv.FormatFloat(t.Calls, 'f', -1, 64), 100*t.PickedUp, 100*t.Parked, t.Ring, t.Hold)
	if t.RTPCalls > 0 {
		s += fmt.Sprintf("; %d calls with measured RTP", t.RTPCalls)
	}
	return s
}

// Thousands writes 20000 as 20,000.
func Thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	_, e.err = e.w.Write(p)
	return len(p), nil
}

// LoadProgressLine is the live line of a load rehearsal: "[outage 4s/20s] registered
// 15,240 (normal 12,100, resiliency 3,140), offline 4,760 | calls up 310 | pickups/s 18
// ok, 2 refused | calls/s 60 ok, 1 refused | REGISTER/s 900".
func LoadProgressLine(pr load.Progress) string {
	s := pr.Sample
	phase := pr.Phase
	if pr.PhaseFor > 0 {
		phase = fmt.Sprintf("%s %s/%s", pr.Phase, pr.PhaseElapsed.Round(time.Second), pr.PhaseFor)
	}
	return fmt.Sprintf("[%s] registered %s (normal %s, resiliency %s), offline %s | calls up %s | pickups/s %d ok, %d refused | calls/s %d ok, %d refused | REGISTER/s %d",
		phase, Thousands(s.Normal+s.Resiliency), Thousands(s.Normal), Thousands(s.Resiliency), Thousands(s.Offline),
		Thousands(s.CallsUp), s.OK[scenario.OpPickups], s.Refused[scenario.OpPickups], s.OK[scenario.OpCalls], s.Refused[scenario.OpCalls], s.RegistersSent)
}

// checkCounts counts a rehearsal's expectations and those that failed.
func checkCounts(res *load.Result) (checks, failed int) {
	for _, ph := range res.Phases {
		for _, c := range ph.Checks {
			checks++
			if !c.Passed {
				failed++
			}
		}
	}
	return checks, failed
}
