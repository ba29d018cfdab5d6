package sip

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Busy lamp fields (RFC 4235) at the pools.
//
// A phone subscribes, through the pool it is registered on, to the dialogs of a user, a park
// orbit, a whole CallPark range or a group pickup number (topology/watch.go names them). That
// pool is the notifier: it holds the subscription in memory, so an outage loses it, and a
// phone that signs in to the backup registrar subscribes again there. The resource's dialogs
// are held by one pool at a time, the deployment model says which (topology.WatchSource): the
// pool that serves the user, or the one whose Call Park application owns the range. When that
// is this pool, it renders them from its own memory (blf_dialogs.go, its queues, its parking
// lot); when it is a peer, this pool subscribes there itself, once per resource, and passes
// what it learns on (blf_upstream.go); when no pool holds them (the owner is down, failed
// over and its ranges not redirected, the user signed out), every lamp of the resource says
// "unknown" in its next NOTIFY, never what it showed before.
//
// The pool renders every watched resource whenever something changed (a call's progress, a
// queue, the parking lot, a peer's NOTIFY, the deployment), at once, on the goroutine that
// changed it, and offers each subscription the new state; a subscription whose phone is no
// longer registered here (signed out by a failover or failback) is ended with reason
// "deactivated", which tells the phone to subscribe again at once, through its new registrar
// (RFC 6665 4.1.3). Rendering at the change, not in a worker that wakes later, makes the
// NOTIFYs a function of the changes: a worker that lagged behind a call's INVITE and its
// 180 rendered "early" only, one that kept up "trying" then "early", and two replays of one
// scenario differed by the machine's load.

// lamps is a pool's busy lamp fields. An outage loses them.
type lamps struct {
	rt *runtime
	// rendering serialises the renders, in the order of the changes, and the outage's
	// stop.
	rendering sync.Mutex
	due       atomic.Bool // a change under a lock waits for its render (changedUnderLock)

	mu      sync.Mutex
	subs    map[string]*subscription        // the subscriptions this pool is the notifier of
	watches map[topology.Watched]*peerWatch // this pool's subscriptions at peers (blf_upstream.go)
	probe   clock.Timer                     // the next round of dialog probes, nil when none is due
	retry   clock.Timer                     // re-render when a source changes by itself (a registrar failover timer)
}

func newLamps(rt *runtime) *lamps {
	l := &lamps{rt: rt, subs: map[string]*subscription{}, watches: map[topology.Watched]*peerWatch{}}
	context.AfterFunc(rt.ctx, func() {
		l.rendering.Lock()
		defer l.rendering.Unlock()
		l.stop()
	})
	return l
}

// changed renders the lamps again, before it returns. Its callers hold none of the locks a
// render takes (the pool's, its dialogs', its parking lot's, the deployment's).
func (l *lamps) changed() {
	if l == nil || l.idle() {
		return
	}
	l.rendering.Lock()
	defer l.rendering.Unlock()
	if l.rt.ctx.Err() != nil {
		return // stopped
	}
	l.due.Store(false) // this render shows that change too
	l.render()
}

// changedUnderLock is changed for the queues and the parking lot, which report a change
// under their owner's lock (the pool's, the lot's), which a render takes. The render is
// due: the pool's next message (flush, in runtime.request and observedTx.Respond) renders
// first, so that whatever that message sets off (the INVITE to a ringing member, then its
// 180) comes after the lamps showed the change; a goroutine of its own renders it if no
// message does, counted as the pool's own sends (Pool.OwnSends) so that a replay waits for
// its NOTIFYs.
func (l *lamps) changedUnderLock() {
	if l == nil || l.idle() || l.due.Swap(true) {
		return
	}
	l.rt.pool.sendOnOwn(l.flush)
}

// flush renders the lamps if a change under a lock is waiting (changedUnderLock).
func (l *lamps) flush() {
	if l != nil && l.due.Load() {
		l.changed()
	}
}

// idle reports whether the pool has no lamps to render: no subscriptions here, none at
// peers (a pool under load without busy lamp keys renders nothing).
func (l *lamps) idle() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.subs) == 0 && len(l.watches) == 0
}

// stop is the outage: timers stop; subscriptions, here and at peers, are simply forgotten (the
// pool answers nothing any more).
func (l *lamps) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.subs {
		s.mu.Lock()
		s.ended = true
		if s.timer != nil {
			s.timer.Stop()
		}
		s.mu.Unlock()
	}
	for _, u := range l.watches {
		u.cancel()
	}
	if l.probe != nil {
		l.probe.Stop()
	}
	if l.retry != nil {
		l.retry.Stop()
	}
}

// render offers every subscription its resource's state now.
func (l *lamps) render() {
	rt := l.rt
	dep := rt.pool.dep
	l.mu.Lock()
	byResource := map[topology.Watched][]*subscription{}
	for _, s := range l.subs {
		byResource[s.w] = append(byResource[s.w], s)
	}
	l.mu.Unlock()

	remote := map[topology.Watched]string{} // resources held by a peer, by that peer
	var probeUsers []string
	var retryAfter time.Duration
	for w, subs := range byResource {
		var live []*subscription
		for _, s := range subs {
			if !s.peer {
				if _, ok := rt.lookup(s.subscriber); !ok {
					s.terminate("deactivated") // signed out here: subscribe again through the new registrar
					continue
				}
			}
			live = append(live, s)
		}
		if len(live) == 0 {
			continue
		}
		src := dep.watchSource(w)
		if src.RetryAfter > 0 && (retryAfter == 0 || src.RetryAfter < retryAfter) {
			retryAfter = src.RetryAfter
		}
		var doc lampDoc
		switch src.Pool {
		case "":
			doc = lampDoc{unknown: src.Why}
		case rt.pool.fqdn:
			doc = l.local(w)
			if w.Kind == topology.WatchUser && l.hasAnswered(doc) {
				probeUsers = append(probeUsers, w.Name)
			}
		default:
			remote[w] = src.Pool
			var ready bool
			if doc, ready = l.fromUpstream(w, src.Pool); !ready {
				continue // the first NOTIFY from the peer is on its way
			}
		}
		for _, s := range live {
			s.offer(doc)
		}
	}
	l.syncUpstreams(remote)
	l.schedule(probeUsers, retryAfter)
}

func (l *lamps) hasAnswered(doc lampDoc) bool {
	for _, d := range doc.dialogs {
		if d.State == dialoginfo.Confirmed {
			return true
		}
	}
	return false
}

// schedule arms the next round of dialog probes, while watched users have answered calls,
// and a render when a resource's source changes by itself.
func (l *lamps) schedule(probeUsers []string, retryAfter time.Duration) {
	clk := l.rt.pool.dep.Clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rt.ctx.Err() != nil {
		return
	}
	if len(probeUsers) > 0 && l.probe == nil {
		l.probe = clk.AfterFunc(DialogProbeInterval, func() {
			l.mu.Lock()
			l.probe = nil
			l.mu.Unlock()
			l.rt.pool.sendOnOwn(func() {
				l.rt.dialogs.probeAll(probeUsers)
				l.changed()
			})
		})
	}
	if retryAfter > 0 {
		if l.retry != nil {
			l.retry.Stop()
		}
		l.retry = clk.AfterFunc(retryAfter, l.changed)
	}
}

// local renders a resource this pool holds.
func (l *lamps) local(w topology.Watched) lampDoc {
	switch w.Kind {
	case topology.WatchUser:
		var doc lampDoc
		for _, d := range l.rt.dialogs.of(w.Name) {
			doc.dialogs = append(doc.dialogs, d.info())
		}
		return doc
	case topology.WatchGroup:
		return l.group(w.Name)
	default:
		return l.orbits(w)
	}
}

// orbits renders the parked calls of a park orbit or range: one confirmed dialog per call,
// between the Call Park application (local: the orbit) and the parkee (remote).
func (l *lamps) orbits(w topology.Watched) lampDoc {
	rt := l.rt
	domain := rt.pool.dep.Domain()
	watched := map[string]bool{}
	for _, o := range rt.pool.dep.watchedOrbits(w) {
		watched[o] = true
	}
	pk := rt.parking
	var doc lampDoc
	pk.mu.Lock()
	defer pk.mu.Unlock()
	for _, h := range pk.held {
		if !watched[h.p.Orbit] {
			continue
		}
		inv := h.parkee.InviteRequest
		parkeeTag, _ := inv.From().Params.Get("tag")
		d := dialoginfo.Dialog{ID: fmt.Sprintf("park-%s-%d", h.p.Orbit, h.p.ID), CallID: inv.CallID().Value(), RemoteTag: parkeeTag,
			Direction: "recipient", State: dialoginfo.Confirmed, Local: fmt.Sprintf("sip:%s@%s", h.p.Orbit, domain),
			Remote: strings.Trim(rt.identityOf(h.p.Parkee), "<>")}
		// The Call Park application's tag: sipgo puts it in the dialog's copy of the INVITE
		// when it reads it, before the call is held (the 200 is written concurrently).
		d.LocalTag, _ = inv.To().Params.Get("tag")
		doc.dialogs = append(doc.dialogs, d)
	}
	sort.Slice(doc.dialogs, func(i, j int) bool { return doc.dialogs[i].ID < doc.dialogs[j].ID })
	return doc
}

// group renders the calls ringing in a group pickup number's queue, held here: one early
// dialog per call (trying until the callee's phone rings), between the rung member (local)
// and the caller (remote), with the pickup extension saying when a call cannot be picked up.
func (l *lamps) group(number string) lampDoc {
	rt := l.rt
	domain := rt.pool.dep.Domain()
	rt.mu.Lock()
	calls := append(rt.queues.Calls(number), rt.queues.BlockedCalls(number)...)
	var doc lampDoc
	type tags struct{ caller, callee, remote string }
	known := map[string]tags{}
	for _, c := range calls {
		if rc := rt.ringing[c.ID]; rc != nil && c.Holder == "" {
			ct, _ := rc.req.From().Params.Get("tag")
			known[c.ID] = tags{caller: ct}
		}
		if hd, ok := rt.heldDialogs[c.ID]; ok {
			known[c.ID] = tags{caller: hd.RemoteTag, callee: hd.LocalTag, remote: hd.Remote}
		}
	}
	rt.mu.Unlock()
	for _, c := range calls {
		t := known[c.ID]
		if t.callee == "" {
			if d, ok := rt.dialogs.isRecipient(c.ID); ok {
				t.callee = d.localTag
			}
		}
		remote := t.remote
		if remote == "" {
			remote = strings.Trim(rt.identityOf(c.Caller), "<>")
		}
		state := dialoginfo.Early
		if t.callee == "" {
			state = dialoginfo.Trying
		}
		doc.dialogs = append(doc.dialogs, dialoginfo.Dialog{ID: c.ID, CallID: c.ID, LocalTag: t.callee, RemoteTag: t.caller,
			Direction: "recipient", State: state, Local: fmt.Sprintf("sip:%s@%s", c.Callee, domain), Remote: remote,
			Pickup: &dialoginfo.Pickup{Number: c.Number, Blocked: c.Blocked, Why: c.Why}})
	}
	return doc
}

// SubscriptionStatus is one dialog subscription a pool holds, as an operator sees it.
type SubscriptionStatus struct {
	// Subscriber is the user whose phone subscribed, or the peer pool that did for its own
	// phones (Peer).
	Subscriber string
	Peer       bool
	// Watching is the resource: a user, an orbit, a CallPark range's identity or a group
	// pickup number, and Kind what it is.
	Watching string
	Kind     string
	// Lamp is what the last NOTIFY showed (trying, early, confirmed, terminated, unknown),
	// "" before the first.
	Lamp     string
	Notifies int
	Expires  time.Time
}

// Subscriptions returns the dialog subscriptions the pool holds, by subscriber then
// resource.
func (p *Pool) Subscriptions() []SubscriptionStatus {
	rt := p.runtime()
	if rt == nil {
		return nil
	}
	l := rt.lamps
	l.mu.Lock()
	subs := make([]*subscription, 0, len(l.subs))
	for _, s := range l.subs {
		subs = append(subs, s)
	}
	l.mu.Unlock()
	out := make([]SubscriptionStatus, 0, len(subs))
	for _, s := range subs {
		s.mu.Lock()
		out = append(out, SubscriptionStatus{Subscriber: s.subscriber, Peer: s.peer, Watching: s.w.Name, Kind: s.w.Kind.String(),
			Lamp: s.lamp, Notifies: s.notifies, Expires: s.expires})
		s.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Subscriber != out[j].Subscriber {
			return out[i].Subscriber < out[j].Subscriber
		}
		return out[i].Watching < out[j].Watching
	})
	return out
}
