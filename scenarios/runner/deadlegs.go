package runner

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/pickupsim/pickupsim/sip/phone"
)

// established returns the established calls of the replay's phones, by call, with the
// user whose phone holds each.
func (r *run) established() map[*phone.Call]string {
	calls := map[*phone.Call]string{}
	for user, ph := range r.phones {
		for _, c := range ph.Calls() {
			if c.State() == phone.Established {
				calls[c] = user
			}
		}
	}
	return calls
}

// endedSince says which of the calls established before a step the step ended, and
// why: an advance of the clock is when phones' timers hang up calls whose far end died.
func endedSince(before map[*phone.Call]string) string {
	var parts []string
	for c, user := range before {
		if c.State() == phone.Ended {
			parts = append(parts, fmt.Sprintf("%s's %s ended: %s", user, callName(c), c.EndReason()))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// callName names a call from its phone's side: "call to park", "call from alice".
func callName(c *phone.Call) string {
	if c.Outgoing {
		return "call to " + c.Dialled
	}
	return "call from " + c.Dialled
}

// checkNoDeadLegs is every replay's last check (issue 9, "no dead legs"): once the
// phones' timers have had their time, no phone may be left in an established call whose
// far end is gone. It moves the clock past them, after the replay's own steps.
func (r *run) checkNoDeadLegs() {
	r.advance(r.fleet.DeadLegHorizon())
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Eventually)
	defer cancel()
	err := r.fleet.CheckNoDeadLegs(ctx)
	if err == nil {
		return
	}
	f := Failure{File: r.sc.File, Step: "no dead legs",
		Expected: fmt.Sprintf("every established call to have a live far end %s after the last step", r.fleet.DeadLegHorizon()),
		Actual:   strings.ReplaceAll(err.Error(), "\n", "; ")}
	if n := len(r.res.Steps); n > 0 {
		last := &r.res.Steps[n-1]
		f.Line = last.Line
		last.Failures = append(last.Failures, f)
		last.Passed = false
	}
	r.res.Failures = append(r.res.Failures, f)
}
