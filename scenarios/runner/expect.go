package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/media"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// check is one comparison of an expect step: what is expected, and a probe that reads the
// actual value now.
type check struct {
	expected string
	probe    func() (ok bool, actual string)
}

// expect runs an expect step's checks. SIP is asynchronous (a CANCEL crosses a 200, a
// picked-up caller's leg is answered a moment after the picker's), so each check gets until
// Options.Eventually to hold before it is recorded as failed.
func (r *run) expect(st scenario.Step) string {
	e := st.Expect
	if e.Call != "" && r.calls[e.Call] == nil {
		r.fail(st, "call "+e.Call, "no such call: the step that names it failed before placing it")
		return "the call was never placed"
	}
	var checks []check
	switch {
	case e.Call != "":
		checks = r.callChecks(e)
	case e.User != "":
		checks = r.userChecks(e)
	case e.Orbit != "":
		checks = r.orbitChecks(e)
	case e.Queue != "":
		checks = []check{r.queueCheck(e)}
	case e.Pool != "":
		checks = r.poolChecks(e)
	case e.OrbitNumber != "":
		checks = r.orbitNumberChecks(e)
	case e.Warnings != "":
		checks = r.warningsChecks(e)
	}
	pending := r.eventually(checks)
	for _, c := range pending {
		_, actual := c.probe()
		r.fail(st, c.expected, actual)
	}
	if e.Media {
		if err := r.mediaFlows(r.calls[e.Call]); err != nil {
			r.fail(st, "media flowing both ways, "+r.lossAllowed(), err.Error())
		}
	}
	if e.MusicOnHold != nil {
		if err := r.musicOnHold(e, *e.MusicOnHold); err != nil {
			r.fail(st, fmt.Sprintf("music on hold %s on the parked leg", onOff(*e.MusicOnHold)), err.Error())
		}
	}
	total := len(checks) + boolInt(e.Media) + boolInt(e.MusicOnHold != nil)
	if len(r.step.Failures) == 0 {
		return fmt.Sprintf("%d checks hold", total)
	}
	return fmt.Sprintf("%d of %d checks failed", len(r.step.Failures), total)
}

func onOff(b bool) string {
	if b {
		return "playing"
	}
	return "silent"
}

// eventually polls the checks until all hold or the deadline passes; it returns those that
// still fail.
func (r *run) eventually(checks []check) []check {
	deadline := time.Now().Add(r.opts.Eventually)
	for {
		var failing []check
		for _, c := range checks {
			if ok, _ := c.probe(); !ok {
				failing = append(failing, c)
			}
		}
		if len(failing) == 0 || time.Now().After(deadline) {
			return failing
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (r *run) callChecks(e *scenario.Expectation) []check {
	nc := r.calls[e.Call]
	out := nc.caller
	var cs []check
	if e.State != nil {
		want := *e.State
		cs = append(cs, check{fmt.Sprintf("call %s (%s to %s) %s", e.Call, nc.from, nc.to, want), func() (bool, string) {
			s := out.State()
			return s == want, describeLeg(out)
		}})
	}
	if e.CalleeState != nil {
		want := *e.CalleeState
		cs = append(cs, check{fmt.Sprintf("%s's phone: call %s %s", nc.to, e.Call, want), func() (bool, string) {
			if nc.callee == nil {
				return false, "no phone rang for this call"
			}
			return nc.callee.State() == want, describeLeg(nc.callee)
		}})
	}
	if e.Connected != "" {
		want := r.remoteName(e.Connected)
		cs = append(cs, check{fmt.Sprintf("%s connected to %s", nc.from, e.Connected), func() (bool, string) {
			return out.State() == phone.Established && out.Remote() == want, describeLeg(out)
		}})
	}
	if e.Code != 0 {
		cs = append(cs, check{fmt.Sprintf("status %d", e.Code), func() (bool, string) {
			o := out.Outcome()
			return o.Code == e.Code, outcomeOrState(out)
		}})
	}
	if e.Diagnostic != 0 {
		cs = append(cs, check{fmt.Sprintf("ms-diagnostics %d", e.Diagnostic), func() (bool, string) {
			return out.Outcome().Diagnostic == e.Diagnostic, outcomeOrState(out)
		}})
	}
	if e.Warning != "" {
		cs = append(cs, check{fmt.Sprintf("a warning containing %q", e.Warning), func() (bool, string) {
			o := out.Outcome()
			return contains(o.Warning+" "+o.Reason, e.Warning), outcomeOrState(out)
		}})
	}
	if e.CancelReason != "" {
		cs = append(cs, check{fmt.Sprintf("%s's ringing cancelled with a reason containing %q", nc.to, e.CancelReason), func() (bool, string) {
			if nc.callee == nil {
				return false, "no phone rang for this call"
			}
			return contains(nc.callee.CancelReason(), e.CancelReason), describeLeg(nc.callee)
		}})
	}
	if e.EndReason != "" {
		cs = append(cs, check{fmt.Sprintf("call %s ended for a reason containing %q", e.Call, e.EndReason), func() (bool, string) {
			return contains(legReason(out), e.EndReason), describeLeg(out)
		}})
	}
	if e.PickedUpBy != "" {
		cs = append(cs, check{fmt.Sprintf("%s told the call was picked up by %s", nc.to, e.PickedUpBy), func() (bool, string) {
			if nc.callee == nil {
				return false, "no phone rang for this call"
			}
			got := nc.callee.PickedUpBy()
			return got == e.PickedUpBy, fmt.Sprintf("picked up by %q (%s)", got, describeLeg(nc.callee))
		}})
	}
	return cs
}

// describeLeg renders a leg's state with its detail.
func describeLeg(c *phone.Call) string {
	s := c.State()
	switch s {
	case phone.Established:
		return fmt.Sprintf("%s, connected to %s", s, c.Remote())
	case phone.Failed:
		return fmt.Sprintf("%s: %s", s, c.Outcome())
	case phone.Cancelled:
		return fmt.Sprintf("%s: %s", s, c.CancelReason())
	case phone.Ended:
		return fmt.Sprintf("%s: %s", s, c.EndReason())
	}
	return s.String()
}

// legReason is why a leg is over: why it ended, or its refusal or cancellation.
func legReason(c *phone.Call) string {
	switch c.State() {
	case phone.Ended:
		return c.EndReason()
	case phone.Failed:
		return c.Outcome().String()
	case phone.Cancelled:
		return c.CancelReason()
	}
	return ""
}

func outcomeOrState(c *phone.Call) string {
	if o := c.Outcome(); o.Code != 0 {
		return o.String()
	}
	return "no final error response: call " + describeLeg(c)
}

func (r *run) userChecks(e *scenario.Expectation) []check {
	ph := r.phones[e.User]
	var cs []check
	if e.Mode != nil {
		cs = append(cs, check{fmt.Sprintf("%s in %s mode", e.User, *e.Mode), func() (bool, string) {
			addr, mode := ph.Registrar()
			return mode == *e.Mode, fmt.Sprintf("%s mode (registrar %s)", mode, r.poolAt(addr))
		}})
	}
	if e.Registrar != "" {
		cs = append(cs, check{fmt.Sprintf("%s registered on %s", e.User, e.Registrar), func() (bool, string) {
			addr, mode := ph.Registrar()
			return r.poolAt(addr) == e.Registrar, fmt.Sprintf("registered on %q (%s mode)", r.poolAt(addr), mode)
		}})
	}
	if e.Ringing != "" {
		cs = append(cs, r.ringingCheck(e))
	}
	if e.Lamp != nil {
		cs = append(cs, r.lampCheck(e)) // lamps.go
	}
	last := func() string {
		reg, ok := r.regs[e.User]
		if !ok {
			return "no register step for " + e.User + " yet"
		}
		return "last REGISTER answer " + reg.reg.Outcome.String()
	}
	if e.Code != 0 {
		cs = append(cs, check{fmt.Sprintf("%s's last REGISTER answered %d", e.User, e.Code), func() (bool, string) {
			return r.regs[e.User].reg.Outcome.Code == e.Code, last()
		}})
	}
	if e.Diagnostic != 0 {
		cs = append(cs, check{fmt.Sprintf("%s's last REGISTER with ms-diagnostics %d", e.User, e.Diagnostic), func() (bool, string) {
			return r.regs[e.User].reg.Outcome.Diagnostic == e.Diagnostic, last()
		}})
	}
	if e.Warning != "" {
		cs = append(cs, check{fmt.Sprintf("%s's last REGISTER with a warning containing %q", e.User, e.Warning), func() (bool, string) {
			o := r.regs[e.User].reg.Outcome
			return contains(o.Warning+" "+o.Reason, e.Warning), last()
		}})
	}
	return cs
}

func (r *run) orbitChecks(e *scenario.Expectation) []check {
	return []check{{fmt.Sprintf("orbit range %s owned by %s", e.Orbit, e.Owner), func() (bool, string) {
		for _, o := range r.net.CallParkOrbits() {
			if strings.EqualFold(o.Identity, e.Orbit) {
				return o.CallParkService == e.Owner, "owned by " + o.CallParkService
			}
		}
		return false, "no orbit range " + e.Orbit
	}}}
}

func (r *run) queueCheck(e *scenario.Expectation) check {
	return check{fmt.Sprintf("%d calls in the pickup queue of %s", *e.Length, e.Queue), func() (bool, string) {
		n := r.net.QueueLength(e.Queue)
		return n == *e.Length, fmt.Sprintf("%d", n)
	}}
}

func (r *run) poolChecks(e *scenario.Expectation) []check {
	status := func() (sip.PoolStatus, bool) {
		for _, ps := range r.net.Pools() {
			if ps.FQDN == e.Pool {
				return ps, true
			}
		}
		return sip.PoolStatus{}, false
	}
	var cs []check
	if e.Phase != nil {
		cs = append(cs, check{fmt.Sprintf("%s %s", e.Pool, *e.Phase), func() (bool, string) {
			ps, _ := status()
			return ps.Phase == *e.Phase, ps.Phase.String()
		}})
	}
	if e.Up != nil {
		cs = append(cs, check{fmt.Sprintf("%s up=%t", e.Pool, *e.Up), func() (bool, string) {
			ps, _ := status()
			return ps.Up == *e.Up, fmt.Sprintf("up=%t", ps.Up)
		}})
	}
	if e.CPS != nil {
		cs = append(cs, r.cpsCheck(e))
	}
	if e.ActiveCalls != nil {
		cs = append(cs, check{fmt.Sprintf("%s bridging %d calls", e.Pool, *e.ActiveCalls), func() (bool, string) {
			p, ok := r.net.Pool(e.Pool)
			if !ok {
				return false, "no such pool"
			}
			n := p.ActiveCalls()
			return n == *e.ActiveCalls, fmt.Sprintf("%d bridged calls", n)
		}})
	}
	return cs
}

// mediaPackets is how many fresh packets each side must hear for media to count as
// flowing now: the first may have been on its way when the check began, the second was
// sent after it (one packet interval, media.Ptime, later). Loss is checked over the whole
// stream so far, not over these. Waiting for more proves nothing more and costs a packet
// interval of real time each (the library's media checks waited 100 ms each, a third of
// a replay's wall time).
const mediaPackets = 2

// mediaFlows checks that both parties of a named call hear each other now, and that
// neither lost a packet. The other party is whoever owns the RTP address the dialling
// phone sends to: the callee, or the picker of a picked-up call.
func (r *run) mediaFlows(nc *namedCall) error {
	a := nc.caller
	if a.State() != phone.Established {
		return fmt.Errorf("call is %s", describeLeg(a))
	}
	b, owner := r.legAt(a)
	if b == nil {
		return fmt.Errorf("no phone of the scenario listens on %s, where %s sends its RTP", a.RemoteMedia(), nc.from)
	}
	// Both directions at once: each waits for the same fresh packets in real time.
	back := make(chan error, 1)
	go func() { back <- r.hears(b, a, owner, nc.from) }()
	err := r.hears(a, b, nc.from, owner)
	if errBack := <-back; err == nil {
		err = errBack
	}
	return err
}

// legAt finds the call whose RTP socket a sends to, and its phone's user.
func (r *run) legAt(a *phone.Call) (*phone.Call, string) {
	for user, ph := range r.phones {
		for _, c := range ph.Calls() {
			if c != a && c.Media.LocalAddr() == a.RemoteMedia() {
				return c, user
			}
		}
	}
	return nil, ""
}

// hears checks that rx receives fresh packets from tx's stream, and has lost no more of
// them than the network explains.
func (r *run) hears(rx, tx *phone.Call, rxName, txName string) error {
	ssrc := tx.Media.SSRC()
	base := rx.Media.Stats().Sources[ssrc].Received
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Eventually)
	defer cancel()
	if err := rx.Media.WaitReceived(ctx, ssrc, base+mediaPackets); err != nil {
		return fmt.Errorf("%s does not hear %s: %v", rxName, txName, err)
	}
	src := rx.Media.Stats().Sources[ssrc]
	if allowed := media.PlausibleLoss(src.Received+src.Lost, r.opts.NetworkLoss); src.Lost > allowed {
		return fmt.Errorf("%s lost %d of %d packets from %s, more than the network drops (%d at most at %.0f %% loss)",
			rxName, src.Lost, src.Received+src.Lost, txName, allowed, 100*r.opts.NetworkLoss)
	}
	return nil
}

// remoteName is how a phone names a party it is connected to: a user by name, an outsider
// by the user part of its address (+14255550100 for a PSTN caller).
func (r *run) remoteName(party string) string {
	for _, o := range r.sc.Outsiders {
		if o.Name == party {
			user, _ := o.UserAndHost()
			return user
		}
	}
	return party
}

// lossAllowed says what loss a media check accepts.
func (r *run) lossAllowed() string {
	if r.opts.NetworkLoss == 0 {
		return "with no loss"
	}
	return fmt.Sprintf("losing no more than a network that drops %.0f %% of packets does", 100*r.opts.NetworkLoss)
}
