package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// transferTimeout bounds a transfer running in the background: the transferor waits for
// the target to answer, which a later step does (sip's referTimeout is the same).
const transferTimeout = 32 * time.Second

// parkRecord is a park a step named with `as`: the orbit it got, or why it was refused.
type parkRecord struct {
	parker, parkee string
	orbit          string       // "" when refused
	refusal        lync.Outcome // the Call Park application's answer to a refused park
	// leg is the parkee's call to the Call Park application (its newest call when the
	// park succeeded), where music on hold plays.
	leg *phone.Call
}

// failure says why the park got no orbit.
func (p *parkRecord) failure() string {
	if p.refusal.Code == 0 {
		return "the park step failed without an answer from the Call Park application"
	}
	return "refused: " + p.refusal.String()
}

// legOf returns user's leg of a named call: the dialling phone's, or the rung phone's.
func (r *run) legOf(name, user string) (*phone.Call, error) {
	nc, err := r.named(name)
	if err != nil {
		return nil, err
	}
	switch {
	case user == nc.from:
		return nc.caller, nil
	case user == nc.to && nc.callee != nil:
		return nc.callee, nil
	}
	return nil, fmt.Errorf("%s is not a party of call %s (%s to %s)", user, name, nc.from, nc.to)
}

// park parks a named call from one party's phone. A refused park is recorded under its
// name too, so an expect step can check the refusal's code, diagnostic and warning.
func (r *run) park(st scenario.Step) (string, error) {
	leg, err := r.legOf(st.Call, st.From)
	if err != nil {
		return "", err
	}
	rec := &parkRecord{parker: st.From, parkee: leg.Remote()}
	if st.As != "" {
		r.parks[st.As] = rec
	}
	ctx, cancel := r.ctx()
	defer cancel()
	orbit, err := r.phones[st.From].Park(ctx, leg)
	if err != nil {
		var pe *phone.ParkError
		if errors.As(err, &pe) {
			rec.refusal = pe.Outcome
		}
		return "", err
	}
	rec.orbit = orbit
	if ph, ok := r.phones[rec.parkee]; ok {
		rec.leg = newestCall(ph, func(c *phone.Call) bool { return c.Outgoing && c.Dialled == lync.ParkUser })
	}
	return fmt.Sprintf("%s parked %s (call %s) on orbit %s", st.From, rec.parkee, st.Call, orbit), nil
}

// newestCall returns the phone's newest call that matches, or nil.
func newestCall(ph *phone.Phone, match func(*phone.Call) bool) *phone.Call {
	calls := ph.Calls()
	for i := len(calls) - 1; i >= 0; i-- {
		if match(calls[i]) {
			return calls[i]
		}
	}
	return nil
}

// target resolves what a dial or retrieve step dials: a park's name becomes its orbit.
func (r *run) target(to string) (string, error) {
	p, ok := r.parks[to]
	if !ok {
		return to, nil
	}
	if p.orbit == "" {
		return "", fmt.Errorf("park %s got no orbit (%s)", to, p.failure())
	}
	return p.orbit, nil
}

// transfer blind-transfers a named call. The transfer completes only when the target
// answers, which a later step does, so it runs in the background: the step waits until
// the transferee's call to the target rings, is answered or is refused, and names it.
func (r *run) transfer(st scenario.Step) (string, error) {
	leg, err := r.legOf(st.Call, st.From)
	if err != nil {
		return "", err
	}
	other := leg.Remote()
	otherPh := r.phones[other]
	if otherPh == nil {
		return "", fmt.Errorf("call %s connects %s to %q, not a phone of the scenario", st.Call, st.From, other)
	}
	known := map[*phone.Call]bool{}
	for _, c := range otherPh.Calls() {
		known[c] = true
	}
	done := make(chan error, 1)
	r.bg.Go(func() {
		ctx, cancel := context.WithTimeout(r.bgCtx, transferTimeout)
		defer cancel()
		done <- r.phones[st.From].Transfer(ctx, leg, st.To)
	})
	referred, err := r.awaitReferred(otherPh, known, st.To, done)
	if err != nil {
		return "", err
	}
	nc := &namedCall{from: other, to: st.To, caller: referred}
	if ph, ok := r.phones[st.To]; ok {
		nc.callee = incomingLeg(ph, referred.ID)
	}
	if st.As != "" {
		r.calls[st.As] = nc
	}
	return fmt.Sprintf("%s transferred %s to %s: %s", st.From, other, st.To, describeLeg(referred)), nil
}

// awaitReferred waits for the transferee's new call to target to ring, be answered or be
// refused, or for the transfer to fail first.
func (r *run) awaitReferred(ph *phone.Phone, known map[*phone.Call]bool, target string, done <-chan error) (*phone.Call, error) {
	deadline := time.Now().Add(r.opts.Settle)
	for {
		c := newestCall(ph, func(c *phone.Call) bool { return !known[c] && c.Outgoing && c.Dialled == target })
		if c != nil && c.State() != phone.Dialing {
			return c, nil
		}
		select {
		case err := <-done:
			if err != nil {
				return nil, err
			}
			if c != nil {
				return c, nil
			}
			return nil, fmt.Errorf("transfer to %s succeeded, but %s placed no call to it", target, ph.User())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s did not call %s within %s of the REFER", ph.User(), target, r.opts.Settle)
		}
	}
}

// answerIncoming answers whatever rings a user's phone (a ring-back, a transferred or
// forwarded call) and names it: the named call is the user's leg, so its checks
// (state, connected, media) look at the user's side.
func (r *run) answerIncoming(st scenario.Step) (string, error) {
	ph := r.phones[st.User]
	var c *phone.Call
	// Whatever should ring it was set off by an earlier step: waiting for it is waiting
	// for asynchronous SIP, as an expect step does.
	deadline := time.Now().Add(r.opts.Eventually)
	for c = ringingIncoming(ph); c == nil; c = ringingIncoming(ph) {
		if time.Now().After(deadline) {
			return "", fmt.Errorf("nothing rings %s's phone", st.User)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.Answer(); err != nil {
		return "", err
	}
	ctx, cancel := r.ctx()
	defer cancel()
	if _, err := c.WaitState(ctx, phone.Established); err != nil {
		return "", fmt.Errorf("%s answered the call from %s, which is now %s", st.User, c.Remote(), describeLeg(c))
	}
	if st.As != "" {
		r.calls[st.As] = &namedCall{from: st.User, to: c.Remote(), caller: c}
	}
	return fmt.Sprintf("%s answered the call from %s", st.User, c.Remote()), nil
}

// ringingIncoming is the phone's oldest incoming call that rings now, or nil.
func ringingIncoming(ph *phone.Phone) *phone.Call {
	for _, c := range ph.Calls() {
		if !c.Outgoing && c.State() == phone.Ringing {
			return c
		}
	}
	return nil
}
