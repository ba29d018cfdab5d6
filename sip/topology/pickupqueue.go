package topology

import (
	"fmt"
	"time"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/pickup"
)

// Block says why a call that rings a member of a Group Call Pickup group cannot be picked
// up. Such calls are still reported to the group's queue, so that a pickup is refused with
// the right cause rather than "no call is ringing" while the callee's phone visibly rings.
type Block string

// The causes.
const (
	// BlockResiliency: the callee is in resiliency mode (seed: users in resiliency mode
	// cannot "have their calls picked up by other users").
	BlockResiliency Block = "resiliency"
	// BlockPrivateLine: the call is to the callee's private line, which Group Call Pickup
	// "cannot be used to answer" (Plan for Group Call Pickup).
	BlockPrivateLine Block = "private-line"
)

// Ringing is a call a pool is about to ring, as the Group Call Pickup decision needs it.
type Ringing struct {
	Callee string
	// PrivateLine: the caller dialled the callee's private line.
	PrivateLine bool
}

// QueueDecision says where a call ringing a member of a group is entered: the queue of
// Number, held by the Call Park application of Owner, the pool that owns the number's
// GroupPickup range (SPEC section 3), wherever the callee is served.
type QueueDecision struct {
	Number string
	Owner  string
	// Blocked, when set, says the call can never be picked up; Why explains it.
	Blocked Block
	Why     string
}

// QueueAt decides, at the pool about to ring a call, whether the call is reported to a
// Group Call Pickup queue and where. Only the pool that serves the callee reports it, and
// only while the owner's Call Park application can hold a queue (when it cannot, pickups of
// the group are refused by routing, 503/35011). A call to a user in resiliency mode, or to a
// private line, is reported blocked: it cannot be picked up, and a pickup says why.
func (d *Deployment) QueueAt(pool string, c Ringing, now time.Time) (QueueDecision, bool) {
	number, ok := d.groups.NumberOf(c.Callee)
	if !ok {
		return QueueDecision{}, false
	}
	r, ok := d.orbits.Lookup(number)
	if !ok || r.Type != park.GroupPickup || d.cpsRefusal(r) != nil {
		return QueueDecision{}, false
	}
	pl, err := d.Place(c.Callee, now)
	if err != nil || pl.Pool != pool {
		return QueueDecision{}, false
	}
	q := QueueDecision{Number: number, Owner: r.CallParkService}
	switch {
	case pl.Mode == Resiliency:
		q.Blocked, q.Why = BlockResiliency, fmt.Sprintf("%s is in resiliency mode (%s)", c.Callee, pl.Why)
	case c.PrivateLine:
		u := d.users[c.Callee]
		q.Blocked, q.Why = BlockPrivateLine, fmt.Sprintf("it is a call to %s's private line %s", c.Callee, u.PrivateLine)
	}
	return q, true
}

// HoldsQueue reports whether pool's Call Park application holds the Group Call Pickup queue
// of number now: the pool owns the number's GroupPickup range and its application runs. A
// pool checks it before it accepts a ringing call another pool reports.
func (d *Deployment) HoldsQueue(pool, number string) bool {
	r, ok := d.orbits.Lookup(Dialled(number))
	return ok && r.Type == park.GroupPickup && r.CallParkService == pool && d.cpsRefusal(r) == nil
}

// NothingPickable is the answer to a pickup when no call in the group can be picked up. If
// calls ring members of the group but are blocked, the one ringing longest says why;
// otherwise nothing rings (SPEC section 3: 404, 35000).
func NothingPickable(number string, blocked []pickup.Call) *Rejection {
	if len(blocked) == 0 {
		return NothingToPickUp(number)
	}
	c := blocked[0]
	switch Block(c.Blocked) {
	case BlockResiliency:
		return CalleeInResiliency(number, c.Callee, c.Why)
	case BlockPrivateLine:
		return PrivateLineNotPickable(number, c.Callee)
	}
	return NothingToPickUp(number)
}

// CalleeInResiliency refuses a pickup whose only ringing call is to a user in resiliency
// mode (seed: users in resiliency mode cannot have their calls picked up). 480, as for a
// picker in resiliency mode: it is temporary, until failover or failback completes.
func CalleeInResiliency(number, callee, why string) *Rejection {
	return reject(480, "Temporarily Unavailable", 0,
		fmt.Sprintf("the call ringing %s in group call pickup group %s cannot be picked up: %s", callee, number, why))
}

// PrivateLineNotPickable refuses a pickup whose only ringing call is to a private line,
// which Group Call Pickup never answers. 404 with 35000, as Lync's queue does not hold the
// call; the Warning says why.
func PrivateLineNotPickable(number, callee string) *Rejection {
	return reject(404, "Not Found", DiagOrbitNotFound,
		fmt.Sprintf("the call ringing %s in group call pickup group %s cannot be picked up: it is to %s's private line", callee, number, callee))
}

// PickedCallGone refuses a pickup whose call ended while it was being picked up (its caller
// hung up as the pickup answered) when no other call of the group can be picked up.
func PickedCallGone(number string) *Rejection {
	return reject(404, "Not Found", DiagOrbitNotFound,
		"the call ringing in group call pickup group "+number+" ended as it was being picked up (its caller hung up)")
}

// RingingTimedOut answers a caller whose callee's branch stayed silent, after provisional
// responses only, beyond Timer C (RFC 3261 16.7 step 2: the proxy CANCELs the branch and
// answers 408).
func RingingTimedOut(target string, after time.Duration) *Rejection {
	return reject(408, "Request Timeout", 0,
		fmt.Sprintf("%s rang without a final answer for %s (Timer C, RFC 3261 16.7): the call is ended", target, after))
}

// MediaMismatch refuses a pickup whose picker offers no codec the caller offered (488).
func MediaMismatch(err error) *Rejection {
	return reject(488, "Not Acceptable Here", 0, fmt.Sprintf("the picker's media offer does not match the caller's: %v", err))
}
