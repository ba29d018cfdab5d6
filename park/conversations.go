package park

import (
	"errors"
	"fmt"
	"time"
)

// Who parks a call, found without trusting what the request says (SPEC section 4).
//
// A park is a blind transfer: the parker REFERs the other party (the parkee), and the
// parkee INVITEs the Call Park application. The REFER goes phone to phone, so the only
// request a pool sees is the parkee's, and whatever it says about the parker
// (Referred-By, RFC 3892, which many phones leave out anyway) was written by its sender.
// What a pool does know is the calls it proxied to their answer, and who their two
// parties were as it established them (an authenticated enterprise user, or an outside
// address). The parker is the other party of the parkee's conversation; hints in the
// request only choose among the parkee's conversations.

var (
	// ErrNoConversation: the pool proxied no answered call of the parkee (35016 "No valid
	// conversation to park a call").
	ErrNoConversation = errors.New("no valid conversation to park a call")
	// ErrHintMismatch: X-Parked-Call or Referred-By names no conversation of the parkee.
	ErrHintMismatch = errors.New("the park request names a conversation its sender is not a party of")
)

// Party is one side of a conversation, as the pool that proxied it established it.
type Party struct {
	// User is an enterprise user's name; empty for a party from outside the enterprise.
	User string
	// Addr is where an outside party's requests come from, "ip:port" as the pool saw it:
	// the party's own address, or the peer pool it came through. Empty for users.
	Addr string
	// Name is what an outside party calls itself (its From URI). It is shown, never trusted.
	Name string
}

// Enterprise reports whether the party is a user of the deployment.
func (p Party) Enterprise() bool { return p.User != "" }

// Is reports whether p and q are the same party: the same user, or the same outside
// address.
func (p Party) Is(q Party) bool {
	if p.User != "" || q.User != "" {
		return p.User == q.User
	}
	return p.Addr != "" && p.Addr == q.Addr
}

// String is the user's name, or the outside party's URI (or address).
func (p Party) String() string {
	switch {
	case p.User != "":
		return p.User
	case p.Name != "":
		return p.Name
	}
	return p.Addr
}

// Conversation is a call a pool proxied to its answer (a 2xx to the initial INVITE).
type Conversation struct {
	CallID         string
	FromTag, ToTag string
	Caller, Callee Party
	Answered       time.Time
	// Parked is set once the conversation was parked: a transfer ends it, so it cannot be
	// parked a second time.
	Parked bool
}

// Other returns the party of c that is not p.
func (c Conversation) Other(p Party) (Party, bool) {
	switch {
	case c.Caller.Is(p):
		return c.Callee, true
	case c.Callee.Is(p):
		return c.Caller, true
	}
	return Party{}, false
}

// Hint is what a park request says about the conversation it parks. Neither field is
// trusted alone: each only narrows the sender's own conversations.
type Hint struct {
	// CallID is the parked conversation's Call-ID (X-Parked-Call).
	CallID string
	// Parker is the user named in Referred-By.
	Parker string
}

// Conversations is what one pool remembers of the calls it proxied: bounded in count and
// in age, on the caller's clock, and lost with the pool in an outage. Not safe for
// concurrent use: its owner locks.
type Conversations struct {
	max    int
	maxAge time.Duration
	order  []string // Call-IDs, oldest answer first
	byID   map[string]*Conversation
}

// NewConversations remembers at most max conversations, each for at most maxAge.
func NewConversations(max int, maxAge time.Duration) *Conversations {
	return &Conversations{max: max, maxAge: maxAge, byID: map[string]*Conversation{}}
}

// Add remembers c (a retransmitted answer replaces nothing: the first one counts), and
// forgets the oldest conversations beyond the bounds.
func (cs *Conversations) Add(c Conversation, now time.Time) {
	cs.expire(now)
	if _, ok := cs.byID[c.CallID]; ok || c.CallID == "" {
		return
	}
	cs.byID[c.CallID] = &c
	cs.order = append(cs.order, c.CallID)
	for len(cs.order) > cs.max {
		delete(cs.byID, cs.order[0])
		cs.order = cs.order[1:]
	}
}

// expire forgets conversations answered more than maxAge before now.
func (cs *Conversations) expire(now time.Time) {
	n := 0
	for n < len(cs.order) && now.Sub(cs.byID[cs.order[n]].Answered) > cs.maxAge {
		delete(cs.byID, cs.order[n])
		n++
	}
	cs.order = cs.order[n:]
}

// Len returns how many conversations are remembered.
func (cs *Conversations) Len() int { return len(cs.order) }

// Find returns the conversation of parkee that a park request means: the parkee's most
// recent conversation that matches every hint given, preferring one not parked yet (the
// caller tells a double park from a spent conversation), or ErrHintMismatch when none
// matches. Without a hint, it is the parkee's most recent conversation not parked yet,
// preferring one whose other party is an enterprise user (only they can park).
func (cs *Conversations) Find(parkee Party, h Hint, now time.Time) (Conversation, error) {
	cs.expire(now)
	hinted := h.CallID != "" || h.Parker != ""
	var best *Conversation
	better := func(c *Conversation) bool {
		if best == nil {
			return true
		}
		if hinted {
			return best.Parked && !c.Parked
		}
		return !best.otherEnterprise(parkee) && c.otherEnterprise(parkee)
	}
	mine, spent := 0, 0
	for i := len(cs.order) - 1; i >= 0; i-- { // most recent first
		c := cs.byID[cs.order[i]]
		other, ok := c.Other(parkee)
		if !ok {
			continue
		}
		mine++
		if hinted && (h.CallID != "" && h.CallID != c.CallID || h.Parker != "" && h.Parker != other.User) {
			continue
		}
		if !hinted && c.Parked {
			spent++
			continue
		}
		if better(c) {
			best = c
		}
	}
	switch {
	case best != nil:
		return *best, nil
	case hinted && mine > 0:
		return Conversation{}, fmt.Errorf("%w (%s has %d conversations through this pool, none with %s)", ErrHintMismatch, parkee, mine, h)
	case hinted:
		return Conversation{}, fmt.Errorf("%w (%s has no conversation through this pool)", ErrHintMismatch, parkee)
	case spent > 0:
		return Conversation{}, fmt.Errorf("%w: every conversation of %s through this pool was parked already", ErrNoConversation, parkee)
	}
	return Conversation{}, fmt.Errorf("%w: this pool set up no answered call of %s", ErrNoConversation, parkee)
}

func (c *Conversation) otherEnterprise(p Party) bool {
	o, _ := c.Other(p)
	return o.Enterprise()
}

// String describes the hint for a refusal.
func (h Hint) String() string {
	switch {
	case h.CallID != "" && h.Parker != "":
		return fmt.Sprintf("Call-ID %s and parker %s", h.CallID, h.Parker)
	case h.CallID != "":
		return "Call-ID " + h.CallID
	}
	return "parker " + h.Parker
}

// MarkParked records that the conversation callID was parked.
func (cs *Conversations) MarkParked(callID string) {
	if c, ok := cs.byID[callID]; ok {
		c.Parked = true
	}
}
