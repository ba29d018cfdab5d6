package sip

import (
	"errors"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/pickup"
	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Directed pickup: a phone answers the call ringing one colleague.
//
//   - By feature code: the phone dials <prefix><user> (**bob by default). The deployment model
//     routes it to the pool that serves bob (topology/directed.go), whose Call Park
//     application answers the call ringing bob longest for the picker, exactly as for a
//     group's number: it answers the caller with the picker's media, and CANCELs bob's
//     ringing with "Call completed elsewhere".
//   - By Replaces (RFC 3891): a busy lamp's NOTIFY gave the ringing dialog's Call-ID and tags;
//     the phone sends an INVITE with Replaces: <call-id>;to-tag=…;from-tag=…;early-only. It is
//     routed like any call (to bob, through the pool that serves him); the pool that rings the
//     named dialog takes it over, as it does for a pickup the owner of a group's queue hands
//     over (pickup_remote.go). A Replaces naming a call that has ended gets 603, one naming
//     an answered call with early-only 486, one naming nothing ringing 481 (RFC 3891 section
//     3). Without early-only, a Replaces for an answered call is an attended-transfer-style
//     swap: the pools pass it on to the phone it is addressed to (attended.go), which replaces
//     its call with the new one.
//
// Either way the seed's rules apply: nobody in resiliency mode picks up or has a call picked
// up (480), a private line is never answered by another phone, and callers from outside the
// enterprise cannot pick up (403, 35003).

// takeRinging takes the call ringing callee longest out of the ringing calls (and out of
// this pool's group queue, when it is queued here), or nil when none rings. The returned
// restore puts it back after a pickup that did not take it.
func (rt *runtime) takeRinging(callee string) (*ringingCall, func()) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var best *ringingCall
	for _, rc := range rt.ringing {
		if rc.callee != callee || rc.isDone() {
			continue
		}
		if best == nil || rc.since.Before(best.since) {
			best = rc
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, rt.untrackLocked(best)
}

// untrackLocked takes rc out of the ringing calls and this pool's queue; rt.mu is held.
func (rt *runtime) untrackLocked(rc *ringingCall) func() {
	id := siputil.CallID(rc.req)
	delete(rt.ringing, id)
	queued, wasQueued := pickup.Call{}, false
	if rc.q.Owner == rt.pool.fqdn {
		queued, wasQueued = rt.queues.Remove(id)
	}
	return func() {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		if rc.isDone() {
			return
		}
		rt.ringing[id] = rc
		if wasQueued {
			rt.queues.Add(queued)
		}
	}
}

// isDone reports whether the goroutine that owns the caller's transaction has finished.
func (rc *ringingCall) isDone() bool {
	select {
	case <-rc.done:
		return true
	default:
		return false
	}
}

// pickUpDirected answers the directed pickup code for callee, a user this pool serves.
func (rt *runtime) pickUpDirected(req *gosip.Request, tx gosip.ServerTransaction, picker topology.Caller, callee string) {
	var pl *pickerLeg
	defer func() {
		if pl != nil && pl.leg.LoadState() < gosip.DialogStateEstablished {
			pl.leg.Close()
		}
	}()
	lost := false
	for {
		rc, restore := rt.takeRinging(callee)
		switch {
		case rc == nil && lost:
			rt.respond(tx, req, topology.DirectedCallGone(callee))
			return
		case rc == nil:
			rt.respond(tx, req, topology.NothingRingingFor(callee))
			return
		}
		if rej := rt.pool.dep.admitDirectedPickup(picker, callee, rc.private); rej != nil {
			restore()
			rt.respond(tx, req, rej)
			return
		}
		if pl == nil {
			var err error
			if pl, err = rt.readPicker(req, tx); err != nil {
				restore()
				return
			}
		}
		var refusal refused
		switch err := rt.takeOver(pl, req, picker.User, rc); {
		case err == nil:
			rt.log("directed pickup", req, "picker", picker.User, "caller", rc.caller, "callee", callee)
			return
		case errors.Is(err, errCallGone):
			lost = true
		case errors.As(err, &refusal):
			restore()
			rt.respond(tx, req, refusal.r)
			return
		default: // the picker hung up
			restore()
			return
		}
	}
}

// onReplaces handles an INVITE with a Replaces header, and reports whether it answered it:
// a takeover of a call this pool rings (a directed pickup, or a group pickup handed over by
// the queue's pool), a refusal RFC 3891 asks for when the pool knows the named dialog, or
// the Call Park application's refusal (attended.go). Anything else is routed like any call,
// Replaces passed on.
func (rt *runtime) onReplaces(req *gosip.Request, tx gosip.ServerTransaction) bool {
	h := req.GetHeader("Replaces")
	if h == nil {
		return false
	}
	fromPeer := rt.fromPeer(req)
	id, fromTag, toTag, earlyOnly := parseReplacesHeader(h.Value())
	// What this pool saw of the named dialog decides first: a call answered a moment ago is
	// still among the ringing calls until its INVITE transaction is done. (A peer pool that
	// hands a group's pickup over wants 481 for anything but a ringing call: it tries the
	// group's next one.)
	if d, ok := rt.dialogs.find(id, fromTag, toTag); ok && !fromPeer {
		switch {
		case d.state == dialoginfo.Terminated:
			rt.respond(tx, req, topology.ReplacesDialogEnded(id))
			return true
		case d.state == dialoginfo.Confirmed && earlyOnly:
			rt.respond(tx, req, topology.ReplacesConfirmedEarlyOnly(id))
			return true
		case d.state == dialoginfo.Confirmed:
			// An attended-transfer-style swap: the phone it is addressed to replaces its call.
			return rt.refuseReplaces(req, tx)
		}
	}
	// A call ringing here is taken over whatever the Request-URI says: desk phones and SIPp
	// address a pickup to the callee at the pool's address (sip:bob@<pool ip:port>).
	if rc, restore := rt.ringingNamed(id, fromTag, toTag); rc != nil {
		rt.pickUpReplaced(req, tx, rc, restore, fromPeer)
		return true
	}
	if !fromPeer && rt.refuseReplaces(req, tx) {
		return true
	}
	if fromPeer && earlyOnly {
		rt.respond(tx, req, topology.NoRingingCall(id)) // the queue's pool tries the group's next call
		return true
	}
	return false
}

// ringingNamed takes the call this pool rings whose Call-ID and tags a Replaces names.
func (rt *runtime) ringingNamed(id, tagA, tagB string) (*ringingCall, func()) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rc := rt.ringing[id]
	if rc == nil || rc.isDone() || !(rc.names(tagA, tagB) || rc.names(tagB, tagA)) {
		return nil, nil
	}
	return rc, rt.untrackLocked(rc)
}

// parseReplacesHeader reads "call-id;to-tag=x;from-tag=y[;early-only]" (RFC 3891 6.1).
func parseReplacesHeader(v string) (callID, fromTag, toTag string, earlyOnly bool) {
	callID, fromTag, toTag = parseReplaces(v)
	for _, p := range strings.Split(v, ";")[1:] {
		if strings.EqualFold(strings.TrimSpace(p), "early-only") {
			earlyOnly = true
		}
	}
	return callID, fromTag, toTag, earlyOnly
}

// replacedCallID is the Call-ID a request's Replaces names, or "".
func replacedCallID(req *gosip.Request) string {
	h := req.GetHeader("Replaces")
	if h == nil {
		return ""
	}
	id, _, _ := parseReplaces(h.Value())
	return id
}

// takeQueued takes a call of number's queue for a pickup: the one a Replaces names (a
// phone picking up from a group's lamp), or the one ringing longest.
func (rt *runtime) takeQueued(number, picker, named string) (pickup.Call, bool) {
	if named == "" {
		return rt.queues.Take(number, picker)
	}
	for _, c := range rt.queues.Calls(number) {
		if c.ID == named {
			return rt.queues.Remove(named)
		}
	}
	return pickup.Call{}, false
}

// pickerOf is who sends a takeover: the user a peer pool vouches for, or the phone as
// identified like any caller. ok is false when the request was challenged.
func (rt *runtime) pickerOf(req *gosip.Request, tx gosip.ServerTransaction, fromPeer bool) (topology.Caller, bool) {
	if fromPeer {
		return topology.Caller{User: lync.UserOf(req.GetHeader(lync.HeaderAssertedIdentity))}, true
	}
	return rt.identify(req, tx)
}

// ringDirectly makes a call to a user in no pickup group (or whose group cannot queue it)
// one this pool's Call Park application can still answer for a directed pickup.
func (rt *runtime) ringDirectly(req *gosip.Request, tx gosip.ServerTransaction, caller topology.Caller, user string, private bool) *ringingCall {
	who := caller.User
	if who == "" {
		who = req.From().Address.String()
	}
	rc := newRingingCall(req, tx, who, user, topology.QueueDecision{}, rt.pool.dep.Clock().Now(), private)
	id := siputil.CallID(req)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if _, dup := rt.ringing[id]; dup {
		return nil
	}
	rt.ringing[id] = rc
	return rc
}

// directedKind says how req picks up a call ringing one user, for metrics: "code",
// "replaces" (an INVITE with Replaces and early-only) or "".
func (rt *runtime) directedKind(req *gosip.Request, dialled string) string {
	if h := req.GetHeader("Replaces"); h != nil {
		if _, _, _, earlyOnly := parseReplacesHeader(h.Value()); earlyOnly {
			return "replaces"
		}
		return ""
	}
	if p := rt.pool.dep.directedPickupPrefix(); p != "" && strings.HasPrefix(dialled, p) && len(dialled) > len(p) {
		return "code"
	}
	return ""
}
