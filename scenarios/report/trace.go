package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pickupsim/pickupsim/scenarios/runner"
)

// Trace writes a scenario's golden trace: what happened, step by step, as a reviewer
// reads it in a diff. Each step is one line (its virtual time, its file line, what it
// did or found, its failures), followed by the SIP messages it set off, one line each
// (sender, receiver, start line) in their canonical order (runner.Canonical). Nothing in
// it depends on the machine: two replays with one seed write the same trace, so a change
// in what the simulator does shows as a change of the trace, asserted or not, as etcd
// raft's data-driven tests do.
func Trace(w io.Writer, r runner.Result) error {
	msgs, sym := runner.Canonical(r)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s (%s)\n", r.Name, r.File)
	if r.Error != "" {
		fmt.Fprintf(&b, "error: %s\n", sym(r.Error))
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", sym(wn))
	}
	mi := 0
	for i, st := range r.Steps {
		verdict := "ok"
		if !st.Passed {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, "%s line %d %s: %s: %s\n", simStamp(st.SimTime), st.Line, verdict, st.Text, sym(st.Detail))
		for _, f := range st.Failures {
			fmt.Fprintf(&b, "  expected %s, got %s\n", sym(f.Expected), sym(f.Actual))
		}
		for ; mi < len(msgs) && msgs[mi].Step <= i; mi++ {
			m := msgs[mi]
			fmt.Fprintf(&b, "  %s %s > %s: %s\n", simStamp(m.Sim), m.From, m.To, m.Summary)
		}
	}
	for ; mi < len(msgs); mi++ {
		m := msgs[mi]
		fmt.Fprintf(&b, "  %s %s > %s: %s\n", simStamp(m.Sim), m.From, m.To, m.Summary)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// simStamp is a virtual time as the trace shows it: "+5m0s".
func simStamp(d time.Duration) string { return "+" + d.String() }
