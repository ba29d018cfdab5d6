package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/media"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// silence is how long a parkee's leg must hear nothing for music on hold to count as off:
// three packet intervals (media.Ptime), after one more in which packets that were already
// on their way do not count (media.Stream.WaitNext). Music on hold sends a packet every
// interval: a stream that plays would be heard two or three times over.
const silence = 3 * media.Ptime

// parkedNow finds the call parked on orbit on any pool that answers.
func (r *run) parkedNow(orbit string) (park.Parked, string, bool) {
	for _, ps := range r.net.Pools() {
		p, ok := r.net.Pool(ps.FQDN)
		if !ok {
			continue
		}
		for _, c := range p.ParkedCalls() {
			if c.Orbit == orbit {
				return c, ps.FQDN, true
			}
		}
	}
	return park.Parked{}, "", false
}

// orbitChecks checks an orbit number, named by a park step or given literally.
func (r *run) orbitNumberChecks(e *scenario.Expectation) []check {
	rec := r.parks[e.OrbitNumber] // nil for a literal number
	orbit := func() (string, string) {
		switch {
		case rec == nil:
			return e.OrbitNumber, ""
		case rec.orbit == "":
			return "", fmt.Sprintf("park %s got no orbit (%s)", e.OrbitNumber, rec.failure())
		}
		return rec.orbit, ""
	}
	// parked probes the orbit and describes what is parked on it.
	parked := func() (park.Parked, string, bool, string) {
		o, why := orbit()
		if o == "" {
			return park.Parked{}, "", false, why
		}
		c, pool, ok := r.parkedNow(o)
		if !ok {
			return c, "", false, "nothing parked on orbit " + o
		}
		return c, pool, true, fmt.Sprintf("orbit %s holds %s, parked by %s on %s", o, c.Parkee, c.Parker, pool)
	}
	name := "orbit " + e.OrbitNumber
	var cs []check
	if e.Number != "" {
		cs = append(cs, check{fmt.Sprintf("park %s on orbit %s", e.OrbitNumber, e.Number), func() (bool, string) {
			o, why := orbit()
			if o == "" {
				return false, why
			}
			return o == e.Number, "orbit " + o
		}})
	}
	if e.Parked != nil {
		cs = append(cs, check{fmt.Sprintf("%s parked=%t", name, *e.Parked), func() (bool, string) {
			_, _, ok, what := parked()
			return ok == *e.Parked, what
		}})
	}
	for _, pc := range []struct {
		want, what string
		got        func(park.Parked, string) string
	}{
		{e.Parker, "parked by", func(p park.Parked, _ string) string { return p.Parker }},
		{e.Parkee, "holding", func(p park.Parked, _ string) string { return p.Parkee }},
		{e.ParkedOn, "held by the Call Park application of", func(_ park.Parked, pool string) string { return pool }},
	} {
		if pc.want == "" {
			continue
		}
		cs = append(cs, check{fmt.Sprintf("%s %s %s", name, pc.what, pc.want), func() (bool, string) {
			p, pool, ok, what := parked()
			return ok && pc.got(p, pool) == pc.want, what
		}})
	}
	if e.ParkeeState != nil {
		want := *e.ParkeeState
		cs = append(cs, check{fmt.Sprintf("the parkee's call to the Call Park application %s", want), func() (bool, string) {
			leg, err := r.parkeeLeg(e)
			if err != nil {
				return false, err.Error()
			}
			return leg.State() == want, describeLeg(leg)
		}})
	}
	if e.ParkeeReason != "" {
		cs = append(cs, check{fmt.Sprintf("the parkee's call to the Call Park application ended for a reason containing %q", e.ParkeeReason), func() (bool, string) {
			leg, err := r.parkeeLeg(e)
			if err != nil {
				return false, err.Error()
			}
			return contains(legReason(leg), e.ParkeeReason), describeLeg(leg)
		}})
	}
	return append(cs, r.refusalChecks(e, rec)...)
}

// refusalChecks check a refused park's answer, as a call's code, diagnostic and warning.
func (r *run) refusalChecks(e *scenario.Expectation, rec *parkRecord) []check {
	if rec == nil {
		return nil
	}
	got := func() string {
		if rec.orbit != "" {
			return "parked on orbit " + rec.orbit
		}
		return rec.failure()
	}
	var cs []check
	if e.Code != 0 {
		cs = append(cs, check{fmt.Sprintf("park %s refused with %d", e.OrbitNumber, e.Code), func() (bool, string) {
			return rec.refusal.Code == e.Code, got()
		}})
	}
	if e.Diagnostic != 0 {
		cs = append(cs, check{fmt.Sprintf("park %s refused with ms-diagnostics %d", e.OrbitNumber, e.Diagnostic), func() (bool, string) {
			return rec.refusal.Diagnostic == e.Diagnostic, got()
		}})
	}
	if e.Warning != "" {
		cs = append(cs, check{fmt.Sprintf("park %s refused with a warning containing %q", e.OrbitNumber, e.Warning), func() (bool, string) {
			return rec.orbit == "" && contains(rec.refusal.Warning+" "+rec.refusal.Reason, e.Warning), got()
		}})
	}
	return cs
}

// parkeeLeg is the parkee's call to the Call Park application: the one the park step
// recorded, or, for a literal orbit number, the newest park call of the parkee's phone.
func (r *run) parkeeLeg(e *scenario.Expectation) (*phone.Call, error) {
	if rec := r.parks[e.OrbitNumber]; rec != nil {
		if rec.leg == nil {
			return nil, fmt.Errorf("park %s has no parkee leg (%s)", e.OrbitNumber, rec.failure())
		}
		return rec.leg, nil
	}
	p, _, ok := r.parkedNow(e.OrbitNumber)
	if !ok {
		return nil, fmt.Errorf("nothing parked on orbit %s", e.OrbitNumber)
	}
	ph := r.phones[p.Parkee]
	if ph == nil {
		return nil, fmt.Errorf("the parkee %s is not a phone of the scenario", p.Parkee)
	}
	if c := newestCall(ph, func(c *phone.Call) bool { return c.Outgoing && c.Dialled == lync.ParkUser }); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("%s has no call to the Call Park application", p.Parkee)
}

// musicOnHold checks that the parkee's leg hears RTP now (on), or nothing for a while
// (off: music on hold disabled, or the pool that held the call is gone).
func (r *run) musicOnHold(e *scenario.Expectation, on bool) error {
	leg, err := r.parkeeLeg(e)
	if err != nil {
		return err
	}
	base := leg.Media.Stats().Received
	if !on {
		ctx, cancel := context.WithTimeout(context.Background(), media.Ptime+silence)
		defer cancel()
		if err := leg.Media.WaitNext(ctx, media.Ptime); err == nil {
			return fmt.Errorf("the parked leg received %d RTP packets in %s", leg.Media.Stats().Received-base, media.Ptime+silence)
		}
		return nil
	}
	// Playing: a packet that left after the check began (WaitNext ignores those already on
	// their way), as for a call's media (mediaPackets).
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Eventually)
	defer cancel()
	if err := leg.Media.WaitNext(ctx, time.Millisecond); err != nil {
		return fmt.Errorf("the parked leg (%s) received %d RTP packets in %s: %v", describeLeg(leg), leg.Media.Stats().Received-base, r.opts.Eventually, err)
	}
	return nil
}

// warningsChecks check the deployment's warnings: one contains the text (or, with count,
// exactly that many do), or there is none at all.
func (r *run) warningsChecks(e *scenario.Expectation) []check {
	got := func() string { return "warnings: " + warningsText(r.net.Warnings()) }
	if strings.EqualFold(e.Warnings, "none") {
		return []check{{"no warning", func() (bool, string) { return len(r.net.Warnings()) == 0, got() }}}
	}
	matching := func() int {
		n := 0
		for _, w := range r.net.Warnings() {
			if contains(string(w), e.Warnings) {
				n++
			}
		}
		return n
	}
	if e.WarningCount != nil {
		return []check{{fmt.Sprintf("%d warnings containing %q", *e.WarningCount, e.Warnings), func() (bool, string) {
			return matching() == *e.WarningCount, got()
		}}}
	}
	return []check{{fmt.Sprintf("a warning containing %q", e.Warnings), func() (bool, string) { return matching() > 0, got() }}}
}

// ringingCheck checks who rings a user's phone now.
func (r *run) ringingCheck(e *scenario.Expectation) check {
	ph := r.phones[e.User]
	return check{fmt.Sprintf("%s's phone rung by %s", e.User, e.Ringing), func() (bool, string) {
		var by []string
		for _, c := range ph.Calls() {
			if !c.Outgoing && c.State() == phone.Ringing {
				by = append(by, c.Remote())
			}
		}
		if e.Ringing == scenario.RingingNobody {
			return len(by) == 0, "rung by " + orNone(by)
		}
		for _, b := range by {
			if b == e.Ringing {
				return true, "rung by " + orNone(by)
			}
		}
		return false, "rung by " + orNone(by)
	}}
}

// cpsCheck compares a pool's CPS settings.
func (r *run) cpsCheck(e *scenario.Expectation) check {
	return check{fmt.Sprintf("%s CPS settings %s", e.Pool, cpsText(*e.CPS)), func() (bool, string) {
		got, err := r.net.CpsConfiguration(e.Pool) // Get-CsCpsConfiguration
		if err != nil {
			return false, err.Error()
		}
		return got == *e.CPS, cpsText(got)
	}}
}

func cpsText(c park.CPSConfig) string {
	return fmt.Sprintf("{CallPickupTimeoutThreshold %s, MaxCallPickupAttempts %d, OnTimeoutURI %q, EnableMusicOnHold %t}",
		c.CallPickupTimeoutThreshold, c.MaxCallPickupAttempts, c.OnTimeoutURI, c.EnableMusicOnHold)
}
