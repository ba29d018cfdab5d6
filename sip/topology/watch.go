package topology

import (
	"fmt"
	"time"

	"github.com/pickupsim/pickupsim/park"
)

// Busy lamp fields: desk phones subscribe to the dialog event package (RFC 4235) of a
// colleague, a park orbit, a whole CallPark range or a Group Call Pickup number, through the
// pool they are registered on. These are the pure decisions behind those subscriptions:
// what a Request-URI names, who may watch it, and which pool's memory holds its dialogs at
// each point of a disaster (so what a lamp may truthfully show).

// EventDialog is the dialog event package (RFC 4235 section 3.1).
const EventDialog = "dialog"

// WatchKind is what a dialog subscription watches.
type WatchKind int

// The kinds of watched resources.
const (
	// WatchUser: a user's INVITE dialogs (who calls them, who they talk to).
	WatchUser WatchKind = iota + 1
	// WatchOrbit: one park orbit; a dialog while a call is parked there.
	WatchOrbit
	// WatchParkRange: every orbit of a CallPark range, named by its Identity.
	WatchParkRange
	// WatchGroup: a Group Call Pickup number; a dialog for every call ringing in the group.
	WatchGroup
)

var watchKindNames = [...]string{"", "user", "orbit", "park range", "pickup group"}

func (k WatchKind) String() string {
	if k <= 0 || int(k) >= len(watchKindNames) {
		return fmt.Sprintf("watch(%d)", int(k))
	}
	return watchKindNames[k]
}

// Watched is a resource a dialog subscription is about.
type Watched struct {
	Kind WatchKind
	// Name is the user's name, the orbit or group number, or the range's Identity: the user
	// part of the resource's URI (sip:<Name>@<domain>).
	Name string
}

func (w Watched) String() string { return w.Kind.String() + " " + w.Name }

// ResolveWatch reads the user part of a dialog SUBSCRIBE's Request-URI: an orbit number
// (CallPark: one orbit; GroupPickup: the group's queue), a CallPark range's Identity (every
// orbit of the range), or a user (a private line stands for its user).
func (d *Deployment) ResolveWatch(target string) (Watched, *Rejection) {
	target = Dialled(target)
	if r, ok := d.orbits.Lookup(target); ok {
		if r.Type == park.GroupPickup {
			return Watched{Kind: WatchGroup, Name: target}, nil
		}
		return Watched{Kind: WatchOrbit, Name: target}, nil
	}
	if r, ok := d.orbits.Get(target); ok && r.Type == park.CallPark {
		return Watched{Kind: WatchParkRange, Name: r.Identity}, nil
	}
	if u, ok := d.privateLines[target]; ok {
		return Watched{Kind: WatchUser, Name: u}, nil
	}
	if _, ok := d.users[target]; ok {
		return Watched{Kind: WatchUser, Name: target}, nil
	}
	return Watched{}, NotWatchable(target, d.topo.Domain)
}

// MayWatch decides whether subscriber may watch w (RFC 4235 section 3.6: the notifier
// authorizes subscribers). Like calls, only users of the enterprise, identified by the
// address they registered from or their credentials, may: a lamp shows who calls whom.
// Where Group Call Pickup is restricted to members, so is watching a group.
func (d *Deployment) MayWatch(subscriber Caller, w Watched) *Rejection {
	if !subscriber.Enterprise() {
		return SubscriberNotAUser(d.topo.Domain)
	}
	if w.Kind == WatchGroup && d.topo.PickupMembersOnly && !d.groups.IsMember(subscriber.User, w.Name) {
		return NotAGroupMember(subscriber.User, w.Name)
	}
	return nil
}

// WatchSource says which pool's memory holds a watched resource's dialogs now: the pool
// that serves the user (it proxies the user's calls), or the pool whose Call Park
// application owns the orbit's or group's range. When none does (the pool is down, its
// application stopped, the user signed out), Pool is empty and Why says so in an
// administrator's words: a lamp then shows "unknown", never what it showed before.
type WatchSource struct {
	Pool string
	Why  string
	// RetryAfter, when set, is how long until the answer changes by itself (the registrar
	// failover timer of the user's home pool runs out).
	RetryAfter time.Duration
}

// Known reports whether a pool holds the resource's dialogs.
func (s WatchSource) Known() bool { return s.Pool != "" }

// WatchSource decides where w's dialogs are held at now (SPEC section 5's table applied
// to lamps): a user's on the pool that serves it (home pool, backup after the registrar
// failover timer or failover); an orbit's, range's or group's on the pool that owns the
// range while its Call Park application runs there (so not while the owner is down or
// failed over and the range is not redirected with Set-CsCallParkOrbit).
func (d *Deployment) WatchSource(w Watched, now time.Time) WatchSource {
	if w.Kind == WatchUser {
		pl, err := d.Place(w.Name, now)
		switch {
		case err != nil:
			return WatchSource{Why: err.Error()}
		case pl.Pool == "":
			return WatchSource{Why: fmt.Sprintf("%s is signed out: %s", w.Name, pl.Why), RetryAfter: pl.RetryAfter}
		}
		return WatchSource{Pool: pl.Pool}
	}
	var r park.OrbitRange
	var ok bool
	if w.Kind == WatchParkRange {
		r, ok = d.orbits.Get(w.Name)
	} else {
		r, ok = d.orbits.Lookup(w.Name)
	}
	if !ok || (w.Kind == WatchGroup) != (r.Type == park.GroupPickup) {
		return WatchSource{Why: fmt.Sprintf("no %s %s in the orbit table now", w.Kind, w.Name)}
	}
	if rej := d.cpsRefusal(r); rej != nil {
		return WatchSource{Why: rej.Warning}
	}
	return WatchSource{Pool: r.CallParkService}
}

// WatchedOrbits lists the orbits a CallPark range's lamp covers, or one orbit's own.
func (d *Deployment) WatchedOrbits(w Watched) []string {
	switch w.Kind {
	case WatchOrbit:
		return []string{w.Name}
	case WatchParkRange:
		if r, ok := d.orbits.Get(w.Name); ok {
			return r.Numbers()
		}
	}
	return nil
}

// NotWatchable refuses a dialog subscription to something that is neither a user, an
// orbit, a CallPark range nor a group pickup number (RFC 6665 section 4.2.1.1: 404).
func NotWatchable(target, domain string) *Rejection {
	return reject(404, "Not Found", 0, fmt.Sprintf(
		"sip:%s@%s is neither a user, a park orbit, a CallPark range identity nor a group call pickup number: there is no lamp to watch",
		target, domain))
}

// SubscriptionGone answers a refresh, or an unsubscription, of a subscription the pool
// does not hold (RFC 6665 section 4.1.2.2: 481): it expired, its NOTIFY went unanswered, or
// the pool lost it in an outage. The phone subscribes again.
func SubscriptionGone(pool string) *Rejection {
	return reject(481, "Call/Transaction Does Not Exist", 0,
		pool+" holds no such subscription (it expired, was ended, or was lost with the pool): subscribe again")
}
