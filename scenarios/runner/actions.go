package runner

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// do carries out one step; it returns what happened and the action's error.
func (r *run) do(st scenario.Step) (string, error) {
	switch st.Kind {
	case scenario.Register:
		return r.register(st)
	case scenario.Call, scenario.Dial, scenario.Pickup, scenario.Retrieve:
		return r.dial(st)
	case scenario.Answer, scenario.Reject:
		if st.User != "" {
			return r.answerIncoming(st)
		}
		return r.answer(st)
	case scenario.Park:
		return r.park(st)
	case scenario.Transfer:
		return r.transfer(st)
	case scenario.AddPool, scenario.MoveUsers, scenario.RemovePool, scenario.PairPools, scenario.ReassignOrbits:
		return r.replace(st)
	case scenario.Hangup:
		return r.hangup(st)
	case scenario.Subscribe, scenario.Unsubscribe:
		return r.subscribe(st) // lamps.go
	case scenario.DirectedPickup:
		return r.directedPickup(st)
	case scenario.Advance:
		before := r.established()
		fired := r.advance(st.Duration)
		detail := fmt.Sprintf("virtual clock +%s (%d timers fired)", st.Duration, fired)
		if ended := endedSince(before); ended != "" {
			detail += "; " + ended
		}
		return detail, nil
	case scenario.Wait:
		time.Sleep(st.Duration)
		return fmt.Sprintf("waited %s", st.Duration), nil
	case scenario.Expect:
		return r.expect(st), nil
	default:
		return r.admin(st)
	}
}

// admin runs an administrator's cmdlet or a pool event.
func (r *run) admin(st scenario.Step) (string, error) {
	n := r.net
	var err error
	detail := ""
	switch st.Kind {
	case scenario.Outage:
		err, detail = n.Outage(st.Pool), st.Pool+" stopped answering"
	case scenario.Recover:
		err, detail = n.Recover(st.Pool), st.Pool+" answers again"
	case scenario.FailOver:
		if st.Planned {
			err, detail = n.InvokePlannedFailOver(st.Pool), "Invoke-CsPoolFailOver -PoolFqdn "+st.Pool+" (planned: the pool keeps running)"
		} else {
			err, detail = n.InvokeFailOver(st.Pool), "Invoke-CsPoolFailOver -PoolFqdn "+st.Pool+" -DisasterMode"
		}
	case scenario.FailOverComplete:
		err, detail = n.CompleteFailOver(st.Pool), "failover of "+st.Pool+" complete"
	case scenario.FailBack:
		err, detail = n.InvokeFailBack(st.Pool), "Invoke-CsPoolFailBack -PoolFqdn "+st.Pool
	case scenario.FailBackComplete:
		err, detail = n.CompleteFailBack(st.Pool), "failback of "+st.Pool+" complete"
	case scenario.NewOrbit:
		o := st.Orbit
		err = n.NewCallParkOrbit(o)
		detail = fmt.Sprintf("New-CsCallParkOrbit -Identity %s -NumberRangeStart %s -NumberRangeEnd %s -CallParkService %s -Type %s",
			o.Identity, o.NumberRangeStart, o.NumberRangeEnd, o.CallParkService, o.Type)
	case scenario.SetOrbit:
		err, detail = n.SetCallParkOrbit(st.Identity, st.Change), "Set-CsCallParkOrbit -Identity "+st.Identity+changeText(st)
	case scenario.RemoveOrbit:
		err, detail = n.RemoveCallParkOrbit(st.Identity), "Remove-CsCallParkOrbit -Identity "+st.Identity
	case scenario.SetCPS:
		var now park.CPSConfig
		now, err = n.SetCpsConfiguration(st.Pool, st.CPS)
		detail = fmt.Sprintf("Set-CsCpsConfiguration -Identity %s %s (now %s)", st.Pool, st.CPS, park.AllOf(now))
	case scenario.EnablePickup:
		err, detail = n.EnableGroupPickup(st.User, st.Number), fmt.Sprintf("SEFAUtil sip:%s /enablegrouppickup:%s", st.User, st.Number)
	case scenario.DisablePickup:
		err, detail = n.DisableGroupPickup(st.User), fmt.Sprintf("SEFAUtil sip:%s /disablegrouppickup", st.User)
	default:
		return "", fmt.Errorf("step kind %s is not implemented", st.Kind)
	}
	return detail, err
}

func changeText(st scenario.Step) string {
	c := st.Change
	var b strings.Builder
	if c.NumberRangeStart != nil {
		b.WriteString(" -NumberRangeStart " + *c.NumberRangeStart)
	}
	if c.NumberRangeEnd != nil {
		b.WriteString(" -NumberRangeEnd " + *c.NumberRangeEnd)
	}
	if c.CallParkService != nil {
		b.WriteString(" -CallParkService " + *c.CallParkService)
	}
	if c.Type != nil {
		b.WriteString(" -Type " + string(*c.Type))
	}
	return b.String()
}

// register registers each user's phone: home pool, then backup registrar, following 301.
// Phones register concurrently, as real phones do after an outage, so a dead home pool
// costs one request timeout per step rather than one per user.
func (r *run) register(st scenario.Step) (string, error) {
	regs := make([]registration, len(st.Users))
	var wg sync.WaitGroup
	for i, u := range st.Users {
		wg.Go(func() {
			ctx, cancel := r.ctx()
			defer cancel()
			reg, err := r.phones[u].Register(ctx)
			regs[i] = registration{reg: reg, err: err}
		})
	}
	wg.Wait()
	var parts, errs []string
	for i, u := range st.Users {
		reg := regs[i]
		r.regs[u] = reg
		if reg.err != nil {
			errs = append(errs, reg.err.Error())
			parts = append(parts, fmt.Sprintf("%s not registered (%s)", u, reg.reg.Outcome))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s registered on %s in %s mode", u, r.poolAt(reg.reg.Registrar), reg.reg.Mode))
	}
	detail := strings.Join(parts, "; ")
	if len(errs) > 0 {
		return detail, errors.New(strings.Join(errs, "; "))
	}
	return detail, nil
}

// poolAt names the pool listening on addr.
func (r *run) poolAt(addr string) string {
	for _, ps := range r.net.Pools() {
		if ps.Address == addr {
			return ps.FQDN
		}
	}
	return addr
}

// dial places a call (to a user), a dial (to anything), a pickup (to a group number) or
// a retrieval (of a parked call), and waits until it rings, is answered or is refused.
func (r *run) dial(st scenario.Step) (string, error) {
	to, err := r.target(st.To)
	if err != nil {
		return "", err
	}
	if st.CallerHangsUp != "" {
		defer r.callerHangsUp(st)()
	}
	out, err := r.phones[st.From].Dial(to)
	if err != nil {
		return "", err
	}
	return r.follow(st, to, out), nil
}

// follow names a call a step placed, waits until it rings, is answered or refused, and
// says what happened.
func (r *run) follow(st scenario.Step, to string, out *phone.Call) string {
	nc := &namedCall{from: st.From, to: to, caller: out}
	if st.As != "" {
		r.calls[st.As] = nc
	}
	ctx, cancel := r.ctx()
	defer cancel()
	state, _ := out.WaitState(ctx, phone.Ringing, phone.Established, phone.Failed, phone.Cancelled, phone.Ended)
	callee := st.To
	if u, ok := r.privateLines[st.To]; ok {
		callee = u // a private line rings its user's phone
	}
	if ph, ok := r.phones[callee]; ok && state == phone.Ringing {
		nc.callee = incomingLeg(ph, out.ID)
	}
	detail := fmt.Sprintf("%s dialled %s: %s", st.From, to, state)
	switch state {
	case phone.Established:
		detail += ", connected to " + out.Remote()
	case phone.Failed:
		detail += ", " + out.Outcome().String()
	}
	return detail
}

// callerHangsUp arms the race a pickup step rehearses: the picked call's caller hangs up
// just as the Call Park application answers it, before its 200 (the CANCEL wins) or after
// (the 200 crosses the CANCEL, and the caller's phone ends it with a BYE). It returns what
// disarms it, once the step is over.
func (r *run) callerHangsUp(st scenario.Step) (disarm func()) {
	// The picked call was placed by an earlier step: look it up among those now, as the
	// hooks run on the pool's goroutine while this step goes on.
	callers := map[string]*phone.Call{}
	for _, nc := range r.calls {
		if nc.caller != nil {
			callers[nc.caller.ID] = nc.caller
		}
	}
	hangUp := func(callerID string, want phone.CallState) {
		if c := callers[callerID]; c != nil {
			ctx, cancel := r.ctx()
			defer cancel()
			if err := c.Hangup(ctx); err == nil {
				c.WaitState(ctx, want)
			}
		}
	}
	if st.CallerHangsUp != "after-answer" {
		r.net.AtPickup(sip.BeforeCallerAnswered, func(id string) { hangUp(id, phone.Cancelled) })
		return func() { r.net.AtPickup(sip.BeforeCallerAnswered, nil) }
	}
	// The 200 crosses the CANCEL: the caller's phone holds the 200 unread from before the
	// Call Park application sends it (phone.Call.HoldAnswer) until its user hung up, so
	// that it CANCELs, not BYEs, whatever the scheduler does; its CANCEL reaches the pool
	// after the 200 left, and gets 200 (RFC 3261 9.2).
	var mu sync.Mutex
	var release []func()
	r.net.AtPickup(sip.BeforeCallerAnswered, func(id string) {
		if c := callers[id]; c != nil {
			mu.Lock()
			release = append(release, c.HoldAnswer())
			mu.Unlock()
		}
	})
	r.net.AtPickup(sip.BeforePickerAnswered, func(id string) { hangUp(id, phone.Ended) })
	return func() {
		r.net.AtPickup(sip.BeforeCallerAnswered, nil)
		r.net.AtPickup(sip.BeforePickerAnswered, nil)
		mu.Lock()
		defer mu.Unlock()
		for _, f := range release {
			f() // the pickup ended before the hang-up: the phone reads its answer now
		}
	}
}

// incomingLeg finds the leg of call id that rings ph. The rung phone tracks the call
// before it sends 180, so it is there once the caller hears ringing.
func incomingLeg(ph *phone.Phone, id string) *phone.Call {
	for _, c := range ph.Calls() {
		if !c.Outgoing && c.ID == id {
			return c
		}
	}
	return nil
}

// answer answers or rejects the ringing leg of a named call, and waits for the caller to
// see it.
func (r *run) answer(st scenario.Step) (string, error) {
	nc, err := r.named(st.Call)
	if err != nil {
		return "", err
	}
	if nc.callee == nil {
		return "", fmt.Errorf("call %s (%s to %s) did not ring a phone: nothing to %s", st.Call, nc.from, nc.to, st.Kind)
	}
	ctx, cancel := r.ctx()
	defer cancel()
	// The rung phone sends 180 Ringing a moment before it marks its leg ringing (sip's
	// onInvite), so the caller may hear ringing first: wait for the callee's side.
	if _, err := nc.callee.WaitState(ctx, phone.Ringing, phone.Established, phone.Failed, phone.Cancelled, phone.Ended); err != nil {
		return "", fmt.Errorf("%s's phone never rang for call %s: %w", nc.to, st.Call, err)
	}
	want := phone.Established
	if st.Kind == scenario.Answer {
		err = nc.callee.Answer()
	} else {
		err = nc.callee.Reject(st.Code, st.Reason)
		want = phone.Failed
	}
	if err != nil {
		return "", err
	}
	if _, err := nc.caller.WaitState(ctx, want); err != nil {
		return "", err
	}
	// The rung phone's leg is established when the ACK arrives, a moment after the caller's
	// (and failed once its refusal is sent): wait for it too, so that a next step (a park,
	// a transfer, another answer) finds both legs settled.
	if _, err := nc.callee.WaitState(ctx, want); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %sed call %s from %s", nc.to, st.Kind, st.Call, nc.from), nil
}

// hangup ends a named call from one party's side (the dialling phone by default).
func (r *run) hangup(st scenario.Step) (string, error) {
	nc, err := r.named(st.Call)
	if err != nil {
		return "", err
	}
	leg, who := nc.caller, nc.from
	if st.By != "" && st.By != nc.from {
		if st.By != nc.to || nc.callee == nil {
			return "", fmt.Errorf("%s is not a party of call %s (%s to %s)", st.By, st.Call, nc.from, nc.to)
		}
		leg, who = nc.callee, nc.to
	}
	before := leg.State()
	ctx, cancel := r.ctx()
	defer cancel()
	err = leg.Hangup(ctx)
	detail := fmt.Sprintf("%s hung up call %s (was %s, now %s)", who, st.Call, before, leg.State())
	switch {
	case err != nil && leg.State() == phone.Ended:
		// The phone hung up; only its BYE found nobody (the far end's pool is gone).
		return detail + "; " + err.Error(), nil
	case err != nil:
		return "", err
	}
	return detail, nil
}

// named returns a named call. The loader checked the name, but the step that names a call
// may have failed before placing it.
func (r *run) named(name string) (*namedCall, error) {
	if nc := r.calls[name]; nc != nil {
		return nc, nil
	}
	return nil, fmt.Errorf("no call %s: the step that names it failed before placing it", name)
}

func contains(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
