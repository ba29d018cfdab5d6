package runner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// subscribe runs subscribe and unsubscribe steps: each of the user's busy lamp keys
// subscribes through its registrar and waits for its first NOTIFY, or unsubscribes.
func (r *run) subscribe(st scenario.Step) (string, error) {
	ph := r.phones[st.User]
	ctx, cancel := r.ctx()
	defer cancel()
	var shown, errs []string
	for _, target := range st.Watch {
		if st.Kind == scenario.Unsubscribe {
			if err := ph.Unsubscribe(ctx, target); err != nil {
				errs = append(errs, err.Error())
			}
			continue
		}
		if err := ph.Subscribe(ctx, target); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		l, _ := ph.Lamp(target)
		shown = append(shown, fmt.Sprintf("%s: %s", target, l.String()))
	}
	if len(errs) > 0 {
		return "", errors.New(strings.Join(errs, "; "))
	}
	if st.Kind == scenario.Unsubscribe {
		return fmt.Sprintf("%s's keys for %s unsubscribed", st.User, strings.Join(st.Watch, ", ")), nil
	}
	return fmt.Sprintf("%s's keys lit: %s", st.User, strings.Join(shown, "; ")), nil
}

// directedPickup runs a directed-pickup step: the picker dials the directed pickup code
// and the callee's name, or sends an INVITE with Replaces built from its lamp of the callee.
func (r *run) directedPickup(st scenario.Step) (string, error) {
	ph := r.phones[st.From]
	if st.ByReplaces {
		out, err := ph.PickUpByReplaces(st.To)
		if err != nil {
			return "", err
		}
		return "INVITE with Replaces from the lamp of " + st.To + ": " + r.follow(st, st.To, out), nil
	}
	code := r.net.DirectedPickupPrefix() + st.To
	out, err := ph.Dial(code)
	if err != nil {
		return "", err
	}
	return r.follow(st, code, out), nil
}

// lampCheck checks what a user's busy lamp key shows.
func (r *run) lampCheck(e *scenario.Expectation) check {
	l := e.Lamp
	want := fmt.Sprintf("%s's lamp for %s shows %s", e.User, l.Watching, l.State)
	if l.Caller != "" {
		want += " with " + l.Caller
	}
	return check{want, func() (bool, string) {
		got, ok := r.phones[e.User].Lamp(l.Watching)
		if !ok {
			return false, e.User + " has no key for " + l.Watching
		}
		if got.State != l.State || (l.Caller != "" && got.Caller != l.Caller) {
			return false, "it shows " + got.String()
		}
		if l.Caller != "" && r.callEnded(got.Dialog.CallID) {
			// The caller's earlier call, whose end the lamp has not heard of yet (its
			// NOTIFY lost and on its way again): the key would pick up a call that is gone.
			return false, "it shows " + got.String() + ", a call that has ended"
		}
		return true, "it shows " + got.String()
	}}
}

// callEnded reports whether callID is a named call of the replay that has ended.
func (r *run) callEnded(callID string) bool {
	if callID == "" {
		return false
	}
	for _, c := range r.calls {
		for _, leg := range []*phone.Call{c.caller, c.callee} {
			if leg == nil || leg.ID != callID {
				continue
			}
			switch leg.State() {
			case phone.Ended, phone.Failed, phone.Cancelled:
				return true
			}
		}
	}
	return false
}
