package topology

import (
	"fmt"
	"strings"
)

// Event packages a pool answers SUBSCRIBE for (RFC 6665), by their Event header name.
const (
	// EventMessageSummary is message waiting indication (RFC 3842): a phone subscribes to
	// its own mailbox. The simulator has no voice mail, so the answer is always "no".
	EventMessageSummary = "message-summary"
	// EventPresence is a user's presence (RFC 3856): open while a registrar holds a
	// registration of the user, closed otherwise.
	EventPresence = "presence"
)

// MaySubscribe decides whether subscriber may subscribe to target's state in event
// package pkg. Only users of the enterprise subscribe; a mailbox is its owner's alone.
func (d *Deployment) MaySubscribe(subscriber Caller, target, pkg string) *Rejection {
	if !subscriber.Enterprise() {
		return SubscriberNotAUser(d.topo.Domain)
	}
	if _, ok := d.users[target]; !ok {
		return NotAUser(target, d.topo.Domain)
	}
	if pkg == EventMessageSummary && target != subscriber.User {
		return NotOwnMailbox(subscriber.User, target)
	}
	return nil
}

// SubscriberNotAUser refuses a subscription from anyone but a registered user of domain.
func SubscriberNotAUser(domain string) *Rejection {
	return reject(403, "Forbidden", 0, "only users of "+domain+" who registered from this address may subscribe")
}

// NotOwnMailbox refuses a subscription to another user's mailbox (message-summary).
func NotOwnMailbox(subscriber, target string) *Rejection {
	return reject(403, "Forbidden", 0, fmt.Sprintf("%s may subscribe to its own mailbox only, not %s's", subscriber, target))
}

// BadSubscriptionEvent refuses a subscription to an event package the pools do not serve (RFC 6665
// 7.2.2); the response lists the ones they do in Allow-Events.
func BadSubscriptionEvent(pkg string, served []string) *Rejection {
	if pkg == "" {
		return reject(489, "Bad Event", 0, "SUBSCRIBE without an Event header; pools serve "+strings.Join(served, ", "))
	}
	return reject(489, "Bad Event", 0, fmt.Sprintf("pools serve subscriptions to %s, not %q", strings.Join(served, ", "), pkg))
}

// NotAcceptable refuses a subscription whose Accept header excludes the only body type
// the package's notifications come in.
func NotAcceptable(pkg, contentType string) *Rejection {
	return reject(406, "Not Acceptable", 0, fmt.Sprintf("%s notifications are %s only", pkg, contentType))
}

// StaleRegister refuses a REGISTER whose CSeq is not above the one that last changed the
// same Call-ID's binding: a late retransmission or a replay, which must not undo a newer
// refresh (RFC 3261 10.3 step 7).
func StaleRegister(cseq, last uint32) *Rejection {
	return reject(400, "Bad Request", 0, fmt.Sprintf("REGISTER CSeq %d is not above %d, the CSeq of this Call-ID's last registration: a stale or replayed request (RFC 3261 10.3)", cseq, last))
}

// ReplacesRefused refuses an INVITE with Replaces (RFC 3891) addressed to the Call Park
// application: the calls it connects (picked up, retrieved, rung back) cannot be taken
// over by an attended transfer. Phones transfer them blind instead; attended transfers
// between phones work, the pools passing Replaces on.
func ReplacesRefused() *Rejection {
	return reject(403, "Forbidden", 0, "the Call Park application does not hand over the calls it connects by attended transfer (INVITE with Replaces); transfer blind instead")
}
