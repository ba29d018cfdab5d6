package pickup

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// ErrDuplicateCall is returned when a call is queued twice.
var ErrDuplicateCall = errors.New("call is already queued")

// Call is a call ringing a group member, waiting in the queue of the member's number.
type Call struct {
	ID     string    // the simulator's identifier of the ringing call (its SIP Call-ID)
	Caller string    // who is calling (a user name, or an outside address)
	Callee string    // the group member being rung
	Number string    // the group's pickup number
	Since  time.Time // when it started ringing
	// Holder is the pool that holds the caller's transaction and rings the callee, when it is
	// not the pool whose Call Park application holds the queue (a member served by another
	// pool than the one owning the group's range, SPEC section 3). Empty: the queue's own pool.
	Holder string
	// Blocked, when set, says why the call cannot be picked up although it rings a member of
	// the group (the callee is in resiliency mode, the call is to a private line...): it is
	// kept apart, so that a pickup can be refused with the right cause, and never answered.
	// Why is the administrator's explanation.
	Blocked string
	Why     string
	seq     uint64
}

// Pickable reports whether Group Call Pickup may answer the call.
func (c Call) Pickable() bool { return c.Blocked == "" }

// Queues holds, per pickup number, the calls ringing members of that group. One Queues
// belongs to one pool's Call Park application: a pool outage loses it.
// It is not safe for concurrent use; its owner locks.
type Queues struct {
	seq      uint64
	byNumber map[string][]*Call
	byID     map[string]*Call
	changed  func() // OnChange
}

// OnChange makes every change of the queues (a call added or removed) call f, under
// whatever lock the owner holds: f must return at once (busy lamps watch the queues).
func (q *Queues) OnChange(f func()) { q.changed = f }

func (q *Queues) touched() {
	if q.changed != nil {
		q.changed()
	}
}

// NewQueues returns empty queues.
func NewQueues() *Queues {
	return &Queues{byNumber: map[string][]*Call{}, byID: map[string]*Call{}}
}

// Add enters c in the queue of c.Number.
func (q *Queues) Add(c Call) error {
	if _, ok := q.byID[c.ID]; ok {
		return fmt.Errorf("call %s: %w", c.ID, ErrDuplicateCall)
	}
	q.seq++
	c.seq = q.seq
	q.byID[c.ID] = &c
	q.byNumber[c.Number] = append(q.byNumber[c.Number], &c)
	q.touched()
	return nil
}

// Remove takes the call out of its queue because it was answered, cancelled, rejected or
// forwarded. It reports whether the call was queued.
func (q *Queues) Remove(id string) (Call, bool) {
	c, ok := q.byID[id]
	if !ok {
		return Call{}, false
	}
	delete(q.byID, id)
	list := q.byNumber[c.Number]
	for i, x := range list {
		if x == c {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(q.byNumber, c.Number)
	} else {
		q.byNumber[c.Number] = list
	}
	q.touched()
	return c.public(), true
}

// public is the call as it was added: the insertion order is the queue's business, and a
// caller comparing the Call it queued with the one it gets back must find them equal.
func (c *Call) public() Call {
	out := *c
	out.seq = 0
	return out
}

// longer reports whether a has been ringing longer than b: earlier Since, and for calls
// that started together, queued first.
func longer(a, b *Call) bool {
	if a.Since.Equal(b.Since) {
		return a.seq < b.seq
	}
	return a.Since.Before(b.Since)
}

// ordered returns a copy of list, longest ringing first.
func ordered(list []*Call) []*Call {
	out := append([]*Call(nil), list...)
	sort.SliceStable(out, func(i, j int) bool { return longer(out[i], out[j]) })
	return out
}

// Take removes and returns the call that has been ringing longest for number, skipping
// calls placed by picker itself (dialling your own group does not answer your own call) and
// blocked calls.
func (q *Queues) Take(number, picker string) (Call, bool) {
	var best *Call
	for _, c := range q.byNumber[number] {
		if c.Caller == picker || c.Blocked != "" {
			continue
		}
		if best == nil || longer(c, best) {
			best = c
		}
	}
	if best == nil {
		return Call{}, false
	}
	return q.Remove(best.ID)
}

// Len returns how many calls Group Call Pickup could answer for number.
func (q *Queues) Len(number string) int { return len(q.Calls(number)) }

// Calls returns the calls Group Call Pickup could answer for number, longest ringing first.
func (q *Queues) Calls(number string) []Call { return q.list(number, true) }

// BlockedCalls returns the calls ringing members of number's group that Group Call Pickup
// cannot answer, longest ringing first.
func (q *Queues) BlockedCalls(number string) []Call { return q.list(number, false) }

func (q *Queues) list(number string, pickable bool) []Call {
	var out []Call
	for _, c := range ordered(q.byNumber[number]) {
		if (c.Blocked == "") == pickable {
			out = append(out, c.public())
		}
	}
	return out
}

// Numbers returns every number with at least one call Group Call Pickup could answer,
// sorted.
func (q *Queues) Numbers() []string {
	out := make([]string, 0, len(q.byNumber))
	for n := range q.byNumber {
		if q.Len(n) > 0 {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Drop removes every queued call for which lost returns true and returns them, longest
// ringing first across all numbers. A failback drops the calls of the users it moves: the
// seed's table says calls in the queue when failback starts can never be answered through
// Group Call Pickup.
func (q *Queues) Drop(lost func(Call) bool) []Call {
	var all []*Call
	for _, list := range q.byNumber {
		all = append(all, list...)
	}
	var out []Call
	for _, c := range ordered(all) {
		if lost(c.public()) {
			q.Remove(c.ID)
			out = append(out, c.public())
		}
	}
	return out
}
