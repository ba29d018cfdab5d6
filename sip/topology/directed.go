package topology

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Directed pickup: a phone answers the call ringing one colleague, by dialling a feature
// code followed by the colleague's name (**bob), or by an INVITE with Replaces (RFC 3891)
// naming the ringing dialog its busy lamp showed. Lync has no directed pickup (its clients
// use presence, not BLF); the simulator puts it behind the seed's rules for Group Call
// Pickup, so a lab sees one model: the Call Park application of the pool that serves the
// callee answers, and nobody in resiliency mode picks up or is picked up.

// DefaultDirectedPickupPrefix is the directed pickup feature code when a topology sets
// none (Yealink's directed pickup code, Asterisk's default pickupexten for directed
// pickup, is "**").
const DefaultDirectedPickupPrefix = "**"

// directedPrefix is what a feature code may be: a * or #, then at most 7 more of * # and
// digits, so that it can never be the start of an orbit number (one optional * or #, then
// 1-9) or a user's name.
var directedPrefix = regexp.MustCompile(`^[*#][*#0-9]{0,7}$`)

// validDirectedPrefix checks a topology's directed pickup prefix.
func validDirectedPrefix(p string) error {
	if !directedPrefix.MatchString(p) || p == "*" || p == "#" {
		return fmt.Errorf("%w: directed pickup prefix %q: want * or # then up to 7 more of *, # and digits, at least two characters (like ** or *97)",
			ErrInvalidTopology, p)
	}
	return nil
}

// DirectedPickupPrefix is the feature code phones dial before a user's name.
func (d *Deployment) DirectedPickupPrefix() string { return d.topo.DirectedPickupPrefix }

// directedPickupCode reads "<prefix><user>".
func (d *Deployment) directedPickupCode(dialled string) (string, bool) {
	p := d.topo.DirectedPickupPrefix
	if p == "" || !strings.HasPrefix(dialled, p) {
		return "", false
	}
	callee := dialled[len(p):]
	_, ok := d.users[callee]
	return callee, ok
}

// routeDirected routes a directed pickup code: to the pool that serves the callee, whose
// Call Park application answers the call ringing there.
func (d *Deployment) routeDirected(pool string, picker Caller, callee string, now time.Time) Route {
	if rej := d.AdmitDirectedPickup(picker, callee, false, now); rej != nil {
		return Route{Reject: rej}
	}
	pl, _ := d.Place(callee, now)
	switch pl.Pool {
	case "":
		return Route{Reject: UserSignedOut(callee, pl.Why)}
	case pool:
		return Route{Kind: ToDirectedPickup, User: callee}
	default:
		return Route{Kind: ToPool, Pool: pl.Pool, User: callee}
	}
}

// AdmitDirectedPickup decides whether picker may answer a call ringing callee (private:
// the call is to callee's private line), with Group Call Pickup's rules (SPEC sections 3
// and 5): only enterprise users pick up; nobody in resiliency mode picks up, and nobody in
// resiliency mode has calls picked up; a private line is never answered by another phone;
// the callee's pool must run its Call Park application.
func (d *Deployment) AdmitDirectedPickup(picker Caller, callee string, private bool, now time.Time) *Rejection {
	if !picker.Enterprise() {
		return DirectedPickupFromOutside(callee)
	}
	if pl, err := d.Place(picker.User, now); err == nil && pl.Mode == Resiliency {
		return DirectedPickupInResiliency(picker.User, pl.Why)
	}
	pl, err := d.Place(callee, now)
	if err != nil {
		return NotAUser(callee, d.topo.Domain)
	}
	switch {
	case pl.Mode == Resiliency:
		return DirectedCalleeInResiliency(callee, pl.Why)
	case private:
		return DirectedPrivateLine(callee)
	case pl.Pool != "" && d.config[pl.Pool].CPSDisabled:
		return DirectedPickupUnavailable(pl.Pool, callee)
	}
	return nil
}

// DirectedPickupFromOutside refuses a directed pickup by a caller from outside the
// enterprise (SPEC section 3: 403, 35003, as for a group's number).
func DirectedPickupFromOutside(callee string) *Rejection {
	return reject(403, "Forbidden", DiagOutsideEnterprise,
		fmt.Sprintf("callers from outside the enterprise cannot pick up calls (directed pickup of %s)", callee))
}

// DirectedPickupInResiliency refuses a picker in resiliency mode (SPEC section 5: users
// in resiliency mode cannot pick up).
func DirectedPickupInResiliency(picker, why string) *Rejection {
	return reject(480, "Temporarily Unavailable", 0,
		fmt.Sprintf("%s is in resiliency mode (%s) and cannot pick up calls", picker, why))
}

// DirectedCalleeInResiliency refuses a directed pickup of a call to a user in resiliency
// mode (seed: such users cannot have their calls picked up by other users).
func DirectedCalleeInResiliency(callee, why string) *Rejection {
	return reject(480, "Temporarily Unavailable", 0,
		fmt.Sprintf("calls ringing %s cannot be picked up: %s is in resiliency mode (%s)", callee, callee, why))
}

// DirectedPrivateLine refuses a directed pickup of a call to a private line, which no
// other phone may answer (Plan for Group Call Pickup).
func DirectedPrivateLine(callee string) *Rejection {
	return reject(404, "Not Found", DiagOrbitNotFound,
		fmt.Sprintf("the call ringing %s cannot be picked up: it is to %s's private line", callee, callee))
}

// DirectedPickupUnavailable refuses a directed pickup on a pool whose Call Park
// application is disabled: nothing there can answer the caller for the picker.
func DirectedPickupUnavailable(pool, callee string) *Rejection {
	return reject(503, "Service Unavailable", DiagCannotForward,
		fmt.Sprintf("the Call Park application of %s, which serves %s, is disabled: it cannot answer %s's calls for a picker", pool, callee, callee))
}

// NothingRingingFor answers a directed pickup when no call rings the callee (as a group's
// number with nothing ringing: 404, 35000).
func NothingRingingFor(callee string) *Rejection {
	return reject(404, "Not Found", DiagOrbitNotFound, "no call is ringing "+callee)
}

// DirectedCallGone refuses a directed pickup whose call ended as it was being picked up
// (its caller hung up) when no other call rings the callee.
func DirectedCallGone(callee string) *Rejection {
	return reject(404, "Not Found", DiagOrbitNotFound, "the call ringing "+callee+" ended as it was being picked up (its caller hung up)")
}

// ReplacesConfirmedEarlyOnly refuses an INVITE with Replaces and early-only for a dialog
// already answered (RFC 3891 section 3: 486 Busy Here).
func ReplacesConfirmedEarlyOnly(callID string) *Rejection {
	return reject(486, "Busy Here", 0,
		fmt.Sprintf("call %s was answered already; the Replaces says early-only, so it is not taken over", callID))
}

// ReplacesDialogEnded refuses an INVITE with Replaces for a dialog that has ended (RFC
// 3891 section 3: 603 Declined).
func ReplacesDialogEnded(callID string) *Rejection {
	return reject(603, "Declined", 0, fmt.Sprintf("call %s has ended: there is nothing to pick up", callID))
}
