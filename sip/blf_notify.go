package sip

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// A dialog subscription a pool holds (RFC 6665 as the notifier, RFC 4235's package): from
// a phone registered on the pool, or from a peer pool that watches, for its own phones, a
// resource this pool holds (blf_upstream.go). Every NOTIFY carries the resource's full
// state (state="full"), so a lamp is right after any one NOTIFY whatever it missed; a dialog
// that was live in the previous NOTIFY and is not now is listed once more, terminated,
// with why it ended. NOTIFYs of one subscription go one at a time (RFC 6665 4.2.2), in the
// order the states were offered: each state the pool offered is sent, so that what a
// subscriber sees depends on what happened, not on how fast its last NOTIFY was answered
// (a NOTIFY still in flight when the next state came would otherwise decide whether the
// state before was skipped). A NOTIFY answered with an error, or not at all,
// ends the subscription (RFC 6665 4.2.2); so does its expiry, on the simulation clock.

// notifyTimeout bounds the wait for a NOTIFY's answer: Timer F (64*T1), on the simulation
// clock and in real time, whichever ends first.
var notifyTimeout = siputil.TransactionTimeout()

// lampDoc is what a watched resource's lamp shows: its dialogs (live ones, and for a user
// the recently ended ones, with why), or why nobody knows them now.
type lampDoc struct {
	dialogs []dialoginfo.Dialog
	unknown string
}

// subscription is one dialog subscription this pool is the notifier of.
type subscription struct {
	l      *lamps
	w      topology.Watched
	entity string // the resource's URI

	subscriber string // the user, or the peer pool's FQDN
	peer       bool
	callID     string
	localTag   string // the pool's tag
	remoteTag  string
	localURI   gosip.Uri // the subscription's To (the resource as the phone wrote it)
	remoteURI  gosip.Uri // its From (the subscriber)
	contact    gosip.Uri // the subscriber's remote target
	event      string    // the Event header as subscribed
	dest       target    // where NOTIFYs go: the phone's proven address, or the peer pool
	since      time.Time

	mu       sync.Mutex
	expires  time.Time
	timer    clock.Timer
	version  uint32
	cseq     uint32
	shown    map[string]dialoginfo.Dialog // the live dialogs of the last NOTIFY, by id
	last     lampDoc                      // the state last offered
	queue    []queuedDoc                  // the states offered and not sent yet, oldest first
	hold     bool                         // the first NOTIFY waits (the user's answered calls are being checked)
	fetch    bool                         // Expires: 0 on the initial SUBSCRIBE: one NOTIFY, terminated
	final    string                       // when set, the NOTIFY that ends the subscription is queued (reason, "-" for none)
	sending  bool
	ended    bool
	notifies int
	lamp     string // what the last NOTIFY showed (dialoginfo.Lamp)
	offered  bool   // a NOTIFY carried last (or is about to)
}

// queuedDoc is one NOTIFY to send: a state, and when final is set, the reason that NOTIFY
// ends the subscription with ("-" for none).
type queuedDoc struct {
	doc   lampDoc
	final string
}

// queueMax bounds the NOTIFYs a subscription has waiting: a subscriber that answers slower
// than its resource changes gets the newest state in place of the ones it could not take
// (RFC 6665 4.2.2 lets a notifier skip states; a full-state document loses nothing).
const queueMax = 16

// enqueue adds a NOTIFY to send; s.mu is held.
func (s *subscription) enqueue(q queuedDoc) {
	if n := len(s.queue); n >= queueMax && s.queue[n-1].final == "" {
		s.queue[n-1] = q
		return
	}
	s.queue = append(s.queue, q)
}

func subscriptionKey(callID, localTag string) string { return callID + "\x00" + localTag }

// offer makes doc the state the next NOTIFY carries, and sends it unless one is in flight.
// A state the subscriber was already offered is not sent again: the pool renders every
// lamp on any change, and a desk phone with sixty keys must not get sixty NOTIFYs for
// one call elsewhere.
func (s *subscription) offer(doc lampDoc) { s.push(doc, false) }

// push is offer; always sends the state even when it is the one last offered (a refresh
// gets the state again: RFC 6665 4.2.1.2).
func (s *subscription) push(doc lampDoc, always bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.final != "" {
		return
	}
	if !always && s.offered && reflect.DeepEqual(s.last, doc) {
		return
	}
	s.last = doc
	if s.hold {
		return
	}
	s.offered = true
	q := queuedDoc{doc: doc}
	if s.fetch {
		s.final = "timeout" // a fetch gets the state once (RFC 6665 4.4.3)
		q.final = s.final
	}
	s.enqueue(q)
	s.kick()
}

// terminate sends a last NOTIFY, Subscription-State: terminated with reason (RFC 6665
// 4.1.3; "-" for none), carrying the last state, and forgets the subscription.
func (s *subscription) terminate(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.final != "" {
		return
	}
	s.final = reason
	s.enqueue(queuedDoc{doc: s.last, final: reason})
	s.hold = false
	s.kick()
}

// kick starts the sender; s.mu is held.
func (s *subscription) kick() {
	if !s.sending {
		s.sending = true
		// The pool's own sends (Pool.OwnSends): a replay, and a test, wait for the NOTIFYs
		// of a change before the clock moves on, or the virtual notifyTimeout would
		// cancel a NOTIFY whose 200 is on its way and end the subscription.
		s.l.rt.pool.ownSends.Go(s.send)
	}
}

// send sends the pending NOTIFYs one after another.
func (s *subscription) send() {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 || s.ended {
			s.sending = false
			s.mu.Unlock()
			return
		}
		doc, final := s.queue[0].doc, s.queue[0].final
		s.queue = s.queue[1:]
		body, lamp := s.document(doc)
		s.cseq++
		seq := s.cseq
		state := s.stateHeader(final)
		if final != "" {
			s.ended = true
		}
		s.mu.Unlock()
		ok := s.l.notify(s, body, state, seq)
		s.mu.Lock()
		s.notifies++
		s.lamp = lamp
		if !ok {
			s.ended = true
		}
		done := s.ended
		if done {
			s.sending = false
		}
		s.mu.Unlock()
		if done {
			s.l.forget(s)
			return
		}
	}
}

// stateHeader is the Subscription-State of the next NOTIFY; s.mu is held.
func (s *subscription) stateHeader(final string) string {
	switch final {
	case "":
		left := s.expires.Sub(s.l.rt.pool.dep.Clock().Now()) / time.Second
		return fmt.Sprintf("active;expires=%d", max(int(left), 1))
	case "-":
		return "terminated"
	}
	return "terminated;reason=" + final
}

// document renders doc as this subscription's next full-state document; s.mu is held.
func (s *subscription) document(doc lampDoc) ([]byte, string) {
	info := dialoginfo.Info{Version: s.version, Full: true, Entity: s.entity, Unknown: doc.unknown}
	s.version++
	live := map[string]dialoginfo.Dialog{}
	ended := map[string]dialoginfo.Dialog{}
	for _, d := range doc.dialogs {
		if d.State == dialoginfo.Terminated {
			ended[d.ID] = d
			continue
		}
		if doc.unknown == "" {
			live[d.ID] = d
			info.Dialogs = append(info.Dialogs, d)
		}
	}
	var gone []string
	for id := range s.shown {
		if _, ok := live[id]; !ok {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	for _, id := range gone {
		d := s.shown[id]
		d.State, d.Event = dialoginfo.Terminated, ended[id].Event
		if doc.unknown != "" {
			d.Event = "" // nobody knows how it ended
		}
		info.Dialogs = append(info.Dialogs, d)
	}
	s.shown = live
	lamp, _ := dialoginfo.Lamp(info)
	return dialoginfo.Build(info), lamp
}

// notify sends one NOTIFY of s and reports whether the subscription lives on: a 2xx, or
// an error response with Retry-After (RFC 6665 4.2.2).
func (l *lamps) notify(s *subscription, body []byte, state string, seq uint32) bool {
	rt := l.rt
	n := gosip.NewRequest(gosip.NOTIFY, *s.contact.Clone())
	n.AppendHeader(&gosip.FromHeader{Address: *s.localURI.Clone(), Params: gosip.HeaderParams{{K: "tag", V: s.localTag}}})
	n.AppendHeader(&gosip.ToHeader{Address: *s.remoteURI.Clone(), Params: gosip.HeaderParams{{K: "tag", V: s.remoteTag}}})
	cid := gosip.CallIDHeader(s.callID)
	n.AppendHeader(&cid)
	n.AppendHeader(&gosip.CSeqHeader{SeqNo: seq, MethodName: gosip.NOTIFY})
	mf := gosip.MaxForwardsHeader(70)
	n.AppendHeader(&mf)
	n.AppendHeader(&gosip.ContactHeader{Address: rt.contactURI()})
	n.AppendHeader(gosip.NewHeader("Event", s.event))
	n.AppendHeader(gosip.NewHeader("Subscription-State", state))
	n.AppendHeader(gosip.NewHeader("Content-Type", dialoginfo.ContentType))
	n.SetBody(body)
	ctx, cancel := context.WithTimeout(rt.ctx, notifyTimeout)
	defer cancel()
	t := rt.pool.dep.Clock().AfterFunc(notifyTimeout, cancel) // the simulation's clock, too
	defer t.Stop()
	_, clTx, err := rt.request(ctx, n, s.dest)
	code := 0
	if err == nil {
		defer clTx.Terminate()
		res := siputil.AwaitFinal(ctx, clTx)
		switch {
		case res == nil:
			err = fmt.Errorf("no answer within %s", notifyTimeout)
		case !res.IsSuccess() && res.GetHeader("Retry-After") == nil:
			code = res.StatusCode
			err = fmt.Errorf("answered %d", code)
		default:
			code = res.StatusCode
		}
	}
	rt.pool.dep.emit(Change{Kind: ChangeNotify, Pool: rt.pool.fqdn, Code: code, User: s.subscriber, Detail: s.w.String()})
	if err != nil {
		rt.pool.log.Info("busy lamp: NOTIFY failed, the subscription ends (RFC 6665 4.2.2)", "subscriber", s.subscriber,
			"watching", s.w.String(), "call_id", s.callID, "code", code, "err", err)
		return false
	}
	return true
}

// subscribeAnswer is the 200 OK a pool gives a dialog SUBSCRIBE it accepts.
func (rt *runtime) subscribeAnswer(req *gosip.Request, tag string, expires int) *gosip.Response {
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	if to := res.To(); to != nil {
		to.Params.Remove("tag")
		to.Params.Add("tag", tag)
	}
	res.AppendHeader(&gosip.ContactHeader{Address: rt.contactURI()})
	res.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(expires)))
	return res
}

// onDialogSubscribe answers a SUBSCRIBE to the dialog event package: a new subscription
// from a phone registered here or from a peer pool, or a refresh or unsubscription of one
// this pool holds.
func (rt *runtime) onDialogSubscribe(req *gosip.Request, tx gosip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, tagged := to.Params.Get("tag"); tagged {
			rt.lamps.refresh(req, tx)
			return
		}
	}
	contact := req.Contact()
	if contact == nil {
		rt.refuse(tx, req, topology.MalformedRequest("SUBSCRIBE has no Contact"))
		return
	}
	dep := rt.pool.dep
	var subscriber string
	var dest target
	peer, fromPeer := rt.peerPool(req)
	if fromPeer {
		subscriber = peer.fqdn
		dest = target{uri: contact.Address, addr: peer.addr, transport: "udp", name: peer.fqdn}
	} else {
		caller, ok := rt.identify(req, tx)
		if !ok {
			return // challenged
		}
		b, registered := rt.lookup(caller.User)
		if !caller.Enterprise() || !registered {
			rt.respond(tx, req, topology.SubscriberNotAUser(dep.Domain()))
			return
		}
		subscriber = caller.User
		dest = b.route() // NOTIFYs go where the registration proved the phone is
	}
	w, rej := dep.watch(subscriptionTarget(req))
	if rej == nil && !fromPeer {
		rej = dep.mayWatch(topology.Caller{User: subscriber}, w)
	}
	if rej != nil {
		rt.respond(tx, req, rej)
		return
	}
	if a := req.GetHeader("Accept"); a != nil && !accepts(a.Value(), dialoginfo.ContentType) {
		rt.respond(tx, req, topology.NotAcceptable(topology.EventDialog, dialoginfo.ContentType))
		return
	}
	expires := subscriptionExpires(req)
	now := dep.Clock().Now()
	remoteTag, _ := req.From().Params.Get("tag")
	dest.uri = *contact.Address.Clone()
	s := &subscription{l: rt.lamps, w: w, entity: fmt.Sprintf("sip:%s@%s", w.Name, dep.Domain()),
		subscriber: subscriber, peer: fromPeer, callID: siputil.CallID(req), localTag: rt.pool.ids.ToTag(req), remoteTag: remoteTag,
		localURI: *req.To().Address.Clone(), remoteURI: *req.From().Address.Clone(), contact: *contact.Address.Clone(),
		event: req.GetHeader("Event").Value(), dest: dest, since: now, expires: now.Add(time.Duration(expires) * time.Second)}
	rt.pool.ownSends.Hold() // the first NOTIFY is owed once the 200 leaves (Pool.OwnSends)
	defer rt.pool.ownSends.Release()
	if err := tx.Respond(rt.subscribeAnswer(req, s.localTag, expires)); err != nil {
		return
	}
	rt.log("dialog subscription accepted", req, "subscriber", subscriber, "watching", w.String(), "expires", expires)
	rt.lamps.hold(s, expires) // kicks the first NOTIFY, counted from then on
}

// refresh answers an in-dialog SUBSCRIBE: a refresh (a NOTIFY with the state follows) or,
// with Expires: 0, the end of the subscription (a last NOTIFY, terminated).
func (l *lamps) refresh(req *gosip.Request, tx gosip.ServerTransaction) {
	rt := l.rt
	tag, _ := req.To().Params.Get("tag")
	l.mu.Lock()
	s := l.subs[subscriptionKey(siputil.CallID(req), tag)]
	l.mu.Unlock()
	from, _ := req.From().Params.Get("tag")
	if s == nil || from != s.remoteTag || !rt.sameSubscriber(req, tx, s) {
		rt.respond(tx, req, topology.SubscriptionGone(rt.pool.fqdn))
		return
	}
	expires := subscriptionExpires(req)
	rt.pool.ownSends.Hold() // the NOTIFY a refresh gets is owed once the 200 leaves (Pool.OwnSends)
	defer rt.pool.ownSends.Release()
	if err := tx.Respond(rt.subscribeAnswer(req, s.localTag, expires)); err != nil {
		return
	}
	if expires == 0 {
		rt.log("dialog subscription ended by the subscriber", req, "subscriber", s.subscriber, "watching", s.w.String())
		s.terminate("-")
		return
	}
	s.mu.Lock()
	s.expires = rt.pool.dep.Clock().Now().Add(time.Duration(expires) * time.Second)
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = rt.pool.dep.Clock().AfterFunc(time.Duration(expires)*time.Second, func() { s.terminate("timeout") })
	doc := s.last
	s.mu.Unlock()
	s.push(doc, true) // RFC 6665 4.2.1.2: a refresh gets the state again
	l.changed()
}

// sameSubscriber reports whether an in-dialog SUBSCRIBE comes from who holds s: the same
// peer pool, or the same user identified as for a call.
func (rt *runtime) sameSubscriber(req *gosip.Request, tx gosip.ServerTransaction, s *subscription) bool {
	if p, ok := rt.peerPool(req); ok {
		return s.peer && p.fqdn == s.subscriber
	}
	if s.peer {
		return false
	}
	caller, ok := rt.identify(req, tx)
	return ok && caller.User == s.subscriber
}

// hold registers a subscription just accepted, arms its expiry and lets it send
// its first NOTIFY; for a user with answered calls, once the phone has said which are
// still up (so that the first NOTIFY is already right).
func (l *lamps) hold(s *subscription, expires int) {
	rt := l.rt
	clk := rt.pool.dep.Clock()
	probe := s.w.Kind == topology.WatchUser && rt.pool.dep.watchSource(s.w).Pool == rt.pool.fqdn &&
		len(rt.dialogs.answeredOf(s.w.Name)) > 0
	s.mu.Lock()
	s.hold = probe
	if expires > 0 {
		s.timer = clk.AfterFunc(time.Duration(expires)*time.Second, func() { s.terminate("timeout") })
	}
	s.mu.Unlock()
	l.mu.Lock()
	l.subs[subscriptionKey(s.callID, s.localTag)] = s
	l.mu.Unlock()
	if expires == 0 {
		s.mu.Lock()
		s.fetch = true
		s.mu.Unlock()
	}
	if probe {
		rt.pool.sendOnOwn(func() {
			rt.dialogs.probeAll([]string{s.w.Name})
			s.mu.Lock()
			s.hold = false
			s.mu.Unlock()
			l.changed()
		})
	}
	l.changed()
}

// forget drops a subscription that ended.
func (l *lamps) forget(s *subscription) {
	l.mu.Lock()
	delete(l.subs, subscriptionKey(s.callID, s.localTag))
	l.mu.Unlock()
	s.mu.Lock()
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	l.changed()
}
