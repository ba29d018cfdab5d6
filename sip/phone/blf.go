package phone

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
)

// Busy lamp field keys, as desk phones have them: the phone subscribes to the dialog event
// package (RFC 4235) of a colleague, a park orbit, a CallPark range or a group pickup
// number, through its registrar (its outbound proxy), and lights the key from each NOTIFY.
// Like Yealink's and Polycom's BLF keys it subscribes again when it signs in to another
// registrar (a failover), when the notifier ends the subscription with "deactivated" or
// "timeout" (RFC 6665 4.1.3), and when a refresh finds nobody; until then the lamp says
// "unknown", never what it showed before.

// SubscribeExpires is the subscription lifetime the phone asks for (Yealink's default BLF
// subscription period, account.X.blf.subscribe_period). It refreshes at nine tenths of
// what it was granted, on the phone's clock.
const SubscribeExpires = 1800

// Lamp is what a busy lamp field key shows.
type Lamp struct {
	// Watching is what the key watches: a user, an orbit, a range or a group number.
	Watching string
	// State is dialoginfo.Lamp's: early (a call rings), trying or proceeding, confirmed (a
	// call is up, or parked), terminated (nothing), or unknown (no active subscription, or a
	// notifier that does not know).
	State string
	// Caller is the other party of the dialog that decides State (who calls, who is
	// parked): a user's name, or the address of a caller from outside. Callee is the
	// entity's side (the rung member of a group, the orbit of a park lamp).
	Caller, Callee string
	// Dialog is that dialog; Dialogs every dialog of the last NOTIFY.
	Dialog  dialoginfo.Dialog
	Dialogs []dialoginfo.Dialog
	// Active is true while the subscription is; Why says why the lamp is unknown.
	Active bool
	Why    string
	// Notifies counts the NOTIFYs of this key's subscriptions; Body is the last one's
	// document as received.
	Notifies int
	Body     []byte
}

// blfKey is one busy lamp key of a phone: its current subscription and what it shows.
type blfKey struct {
	target string
	// subscribing serialises the key's new subscriptions: a failover makes the phone sign
	// in, and the old notifier end the subscription, at about the same time.
	subscribing sync.Mutex

	mu        sync.Mutex
	callID    string
	localTag  string
	remoteTag string
	remote    gosip.Uri // the notifier's remote target
	registrar string    // where the subscription was made
	accepted  bool      // the notifier accepted it (its first NOTIFY may be on its way)
	version   uint32    // the dialog-info version the lamp shows
	seen      bool      // a NOTIFY of the current subscription was shown
	cseq      uint32
	refresh   clock.Timer
	closing   bool
	lamp      Lamp
	history   []Lamp
	changed   chan struct{}
}

// blfState is a phone's busy lamp keys.
type blfState struct {
	mu     sync.Mutex
	keys   map[string]*blfKey // by target
	byCall map[string]*blfKey // by subscription Call-ID, the current and the closing ones
}

func (b *blfState) key(target string) *blfKey {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.keys[target]
}

// Subscribe adds a busy lamp key for target (a user, an orbit, a CallPark range's
// identity, a group pickup number) and subscribes through the phone's registrar. It
// returns once the subscription is accepted and its first NOTIFY lit the key.
func (ph *Phone) Subscribe(ctx context.Context, target string) error {
	ph.blf.mu.Lock()
	if ph.blf.keys == nil {
		ph.blf.keys, ph.blf.byCall = map[string]*blfKey{}, map[string]*blfKey{}
	}
	k := ph.blf.keys[target]
	if k == nil {
		k = &blfKey{target: target, changed: make(chan struct{}), lamp: Lamp{Watching: target, State: dialoginfo.Unknown, Why: "not subscribed yet"}}
		ph.blf.keys[target] = k
	}
	ph.blf.mu.Unlock()
	k.mu.Lock()
	seen := k.lamp.Notifies
	k.mu.Unlock()
	if err := ph.subscribeKey(ctx, k); err != nil {
		return err
	}
	_, err := ph.WaitLamp(ctx, target, func(l Lamp) bool { return l.Notifies > seen })
	return err
}

// Unsubscribe ends the subscription of target's key (Expires: 0) and removes the key.
func (ph *Phone) Unsubscribe(ctx context.Context, target string) error {
	ph.blf.mu.Lock()
	k := ph.blf.keys[target]
	delete(ph.blf.keys, target)
	ph.blf.mu.Unlock()
	if k == nil {
		return fmt.Errorf("%s has no busy lamp key for %s", ph.user, target)
	}
	k.mu.Lock()
	k.closing = true
	if k.refresh != nil {
		k.refresh.Stop()
	}
	active := k.lamp.Active && k.callID != ""
	k.mu.Unlock()
	if !active {
		return nil
	}
	res, err := ph.sendSubscribe(ctx, k, 0)
	if err != nil {
		return err
	}
	if !res.IsSuccess() {
		return fmt.Errorf("%s unsubscribing from %s: %s", ph.user, target, lync.OutcomeOf(res))
	}
	return nil
}

// Lamp returns what target's key shows.
func (ph *Phone) Lamp(target string) (Lamp, bool) {
	k := ph.blf.key(target)
	if k == nil {
		return Lamp{}, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lamp, true
}

// LampHistory returns what target's key showed after each NOTIFY (and each time it went
// unknown), oldest first.
func (ph *Phone) LampHistory(target string) []Lamp {
	k := ph.blf.key(target)
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]Lamp(nil), k.history...)
}

// WaitLamp waits until target's key shows what ok accepts, and returns it.
func (ph *Phone) WaitLamp(ctx context.Context, target string, ok func(Lamp) bool) (Lamp, error) {
	k := ph.blf.key(target)
	if k == nil {
		return Lamp{}, fmt.Errorf("%s has no busy lamp key for %s", ph.user, target)
	}
	for {
		k.mu.Lock()
		l, ch := k.lamp, k.changed
		k.mu.Unlock()
		if ok(l) {
			return l, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return l, fmt.Errorf("%s's lamp for %s shows %s: %w", ph.user, target, l.String(), ctx.Err())
		}
	}
}

// String says what the lamp shows, in words: its state, who lights it and why.
func (l Lamp) String() string {
	s := l.State
	if l.Caller != "" {
		s += " (" + l.Caller + ")"
	}
	if l.Why != "" {
		s += ": " + l.Why
	}
	return s
}

// show sets what the key shows and wakes its waiters; k.mu is held.
func (k *blfKey) show(l Lamp) {
	k.lamp = l
	k.history = append(k.history, l)
	close(k.changed)
	k.changed = make(chan struct{})
}

// unknown makes the key show unknown, for why; k.mu is held.
func (k *blfKey) unknown(why string) {
	k.accepted = false
	if k.lamp.State == dialoginfo.Unknown && !k.lamp.Active && k.lamp.Why == why {
		return
	}
	l := Lamp{Watching: k.target, State: dialoginfo.Unknown, Why: why, Notifies: k.lamp.Notifies}
	k.show(l)
}

// subscribeKey makes a new subscription for k through the phone's registrar.
func (ph *Phone) subscribeKey(ctx context.Context, k *blfKey) error {
	return ph.subscribeKeyIf(ctx, k, false)
}

// subscribeKeyIf makes a new subscription for k through the phone's registrar; when
// onlyStale, only if k's subscription is not an active one made through that registrar
// (another call already renewed it).
func (ph *Phone) subscribeKeyIf(ctx context.Context, k *blfKey, onlyStale bool) error {
	k.subscribing.Lock()
	defer k.subscribing.Unlock()
	proxy := ph.OutboundProxy()
	if proxy == "" {
		return fmt.Errorf("%s: no registrar to subscribe through", ph.user)
	}
	ph.blf.mu.Lock()
	k.mu.Lock()
	if onlyStale && (k.closing || (k.accepted && k.registrar == proxy)) {
		k.mu.Unlock()
		ph.blf.mu.Unlock()
		return nil
	}
	if k.refresh != nil {
		k.refresh.Stop()
	}
	// The old subscription's NOTIFYs get 481 from now on, which ends it at its notifier
	// (RFC 6665 4.2.2).
	delete(ph.blf.byCall, k.callID)
	// Each key counts its own subscriptions (sip/ids): the keys of a phone subscribe
	// concurrently, so a count shared by them would follow the scheduler.
	k.callID = fmt.Sprintf("blf-%s-%s", ph.user, ph.ids.CallID("blf-"+k.target))
	k.localTag, k.remoteTag, k.remote = ph.ids.Tag("blf-"+k.target), "", gosip.Uri{}
	k.registrar, k.cseq, k.accepted, k.seen = proxy, 0, false, false
	ph.blf.byCall[k.callID] = k
	k.mu.Unlock()
	ph.blf.mu.Unlock()
	res, err := ph.sendSubscribe(ctx, k, SubscribeExpires)
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case err != nil:
		k.unknown("subscription unanswered: " + err.Error())
		return fmt.Errorf("%s subscribing to %s: %w", ph.user, k.target, err)
	case !res.IsSuccess():
		k.unknown("subscription refused: " + lync.OutcomeOf(res).String())
		return fmt.Errorf("%s subscribing to %s: refused: %s", ph.user, k.target, lync.OutcomeOf(res))
	}
	ph.acceptedLocked(k, res)
	return nil
}

// acceptedLocked records the notifier's side of an accepted subscription and arms the
// refresh; k.mu is held.
func (ph *Phone) acceptedLocked(k *blfKey, res *gosip.Response) {
	k.accepted = true
	if tag, ok := res.To().Params.Get("tag"); ok && k.remoteTag == "" {
		k.remoteTag = tag
	}
	if c := res.Contact(); c != nil {
		k.remote = *c.Address.Clone()
	}
	granted := siputil.Expires(res, SubscribeExpires)
	if k.refresh != nil {
		k.refresh.Stop()
	}
	id := k.callID
	k.refresh = ph.clock.AfterFunc(time.Duration(granted)*time.Second*9/10, func() { ph.sendOnOwn(func() { ph.refreshKey(k, id) }) })
}

// refreshKey refreshes k's subscription; one the notifier no longer holds, or that finds
// nobody, makes the lamp unknown, and the phone subscribes again through its registrar.
func (ph *Phone) refreshKey(k *blfKey, id string) {
	k.mu.Lock()
	if k.callID != id || k.closing {
		k.mu.Unlock()
		return
	}
	k.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), siputil.TransactionTimeout())
	defer cancel()
	res, err := ph.sendSubscribe(ctx, k, SubscribeExpires)
	k.mu.Lock()
	if err == nil && res.IsSuccess() {
		ph.acceptedLocked(k, res)
		k.mu.Unlock()
		return
	}
	why := "refresh unanswered"
	if err == nil {
		why = "refresh refused: " + lync.OutcomeOf(res).String()
	}
	k.unknown(why)
	k.mu.Unlock()
	ph.resubscribe(k)
}

// resubscribe makes a new subscription for k in the background, unless by then it has an
// active one through the phone's registrar.
func (ph *Phone) resubscribe(k *blfKey) {
	ph.sendOnOwn(func() { // a replay records it under the step that set it off (OwnSends)
		ctx, cancel := context.WithTimeout(context.Background(), siputil.TransactionTimeout())
		defer cancel()
		ph.subscribeKeyIf(ctx, k, true)
	})
}

// sendSubscribe sends a SUBSCRIBE of k: the initial one to the registrar, a refresh or an
// unsubscription to the notifier's remote target.
func (ph *Phone) sendSubscribe(ctx context.Context, k *blfKey, expires int) (*gosip.Response, error) {
	k.mu.Lock()
	ruri := gosip.Uri{Scheme: "sip", User: k.target, Host: ph.domain}
	dest := k.registrar
	to := &gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: k.target, Host: ph.domain}}
	if k.remoteTag != "" {
		to.Params = gosip.HeaderParams{{K: "tag", V: k.remoteTag}}
		if k.remote.Host != "" {
			ruri, dest = *k.remote.Clone(), hostPortOf(k.remote)
		}
	}
	k.cseq++
	req := gosip.NewRequest(gosip.SUBSCRIBE, ruri)
	req.AppendHeader(&gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", User: ph.user, Host: ph.domain}, Params: gosip.HeaderParams{{K: "tag", V: k.localTag}}})
	req.AppendHeader(to)
	cid := gosip.CallIDHeader(k.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: k.cseq, MethodName: gosip.SUBSCRIBE})
	k.mu.Unlock()
	req.AppendHeader(&gosip.ContactHeader{Address: ph.Contact()})
	req.AppendHeader(gosip.NewHeader("Event", dialoginfo.Event))
	req.AppendHeader(gosip.NewHeader("Accept", dialoginfo.ContentType))
	req.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(expires)))
	req.SetDestination(dest)
	res, err := ph.do(ctx, dest, func(ctx context.Context) (*gosip.Response, error) {
		res, err := siputil.FinalOrError(ph.cli.Do(ctx, req))
		if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) && ph.password != "" {
			return siputil.FinalOrError(ph.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: ph.user, Password: ph.password}))
		}
		return res, err
	})
	k.mu.Lock()
	k.cseq = max(k.cseq, req.CSeq().SeqNo) // a digest retry counted one more
	k.mu.Unlock()
	return res, err
}

func hostPortOf(u gosip.Uri) string {
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(port))
}

// onDialogNotify lights a key from a NOTIFY of its subscription. A NOTIFY of a
// subscription the phone no longer has gets 481, which ends it at the notifier (RFC 6665
// 4.1.3): the phone subscribed again elsewhere.
func (ph *Phone) onDialogNotify(req *gosip.Request, tx gosip.ServerTransaction) {
	id := siputil.CallID(req)
	ph.blf.mu.Lock()
	k := ph.blf.byCall[id]
	ph.blf.mu.Unlock()
	if k == nil {
		tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	info, err := dialoginfo.Parse(req.Body())
	if err != nil {
		tx.Respond(gosip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	state := ""
	if h := req.GetHeader("Subscription-State"); h != nil {
		state = strings.ToLower(strings.TrimSpace(h.Value()))
	}
	terminated := strings.HasPrefix(state, "terminated")
	reason := ""
	if _, r, ok := strings.Cut(state, "reason="); ok {
		reason, _, _ = strings.Cut(r, ";")
	}
	if terminated {
		ph.blf.mu.Lock()
		delete(ph.blf.byCall, id)
		ph.blf.mu.Unlock()
	}
	k.mu.Lock()
	current := k.callID == id && !k.closing
	if tag, ok := req.From().Params.Get("tag"); ok && current && k.remoteTag == "" {
		k.remoteTag = tag
	}
	if c := req.Contact(); c != nil && current {
		k.remote = *c.Address.Clone()
	}
	// The lamp changes before the 200 goes: the notifier sends the next NOTIFY on the 200,
	// and its handler must not overtake this one. A document older than the one shown is
	// not shown (RFC 4235 section 4.1.2: versions only grow).
	stale := current && k.seen && info.Version <= k.version
	if !current || stale {
		k.mu.Unlock()
		tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
		return // an old subscription's last word, or a retransmission
	}
	defer tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	k.version, k.seen = info.Version, true
	lampState, d := dialoginfo.Lamp(info)
	l := Lamp{Watching: k.target, State: lampState, Dialog: d, Dialogs: info.Dialogs, Active: !terminated,
		Why: info.Unknown, Notifies: k.lamp.Notifies + 1, Caller: partyName(d.Remote), Callee: partyName(d.Local), Body: req.Body()}
	k.show(l)
	if terminated {
		if k.refresh != nil {
			k.refresh.Stop()
		}
		k.unknown("subscription ended by the notifier: " + state)
	}
	k.mu.Unlock()
	if terminated && (reason == "deactivated" || reason == "timeout") {
		ph.resubscribe(k) // RFC 6665 4.1.3: subscribe again at once
	}
}

// partyName is the user part of an identity in the phone's domain, or the identity.
func partyName(identity string) string {
	var u gosip.Uri
	if identity == "" || gosip.ParseUri(identity, &u) != nil {
		return identity
	}
	if u.User != "" {
		return u.User
	}
	return identity
}

// registeredOn follows a registration: keys subscribed through another registrar, or whose
// subscription ended, subscribe again through this one; a phone that could register
// nowhere shows every lamp unknown.
func (ph *Phone) registeredOn(registrar string) {
	ph.blf.mu.Lock()
	keys := make([]*blfKey, 0, len(ph.blf.keys))
	for _, k := range ph.blf.keys {
		keys = append(keys, k)
	}
	ph.blf.mu.Unlock()
	for _, k := range keys {
		k.mu.Lock()
		if registrar == "" {
			k.unknown("the phone is signed out")
			k.mu.Unlock()
			continue
		}
		k.mu.Unlock()
		ph.resubscribe(k) // unless it is active through this registrar

	}
}

// onOptions answers OPTIONS: a keep-alive or capabilities query with 200; one inside a
// dialog (a pool checking that a call its busy lamps show is still up) with 481 when the
// phone has no such call up or ringing (RFC 3261 12.2.2).
func (ph *Phone) onOptions(req *gosip.Request, tx gosip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, tagged := to.Params.Get("tag"); tagged {
			c := ph.call(siputil.CallID(req))
			if c == nil || c.State() >= Failed {
				tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
				return
			}
		}
	}
	tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
}

// PickUpByReplaces picks up the call target's lamp shows ringing, with an INVITE with
// Replaces (RFC 3891) built from the NOTIFY's dialog identifiers, sent to target through
// the phone's registrar with early-only (as Yealink's "dialog-info call pickup" and
// Polycom's native directed pickup do). For a lamp showing an answered call it takes the
// call over: the INVITE goes to the other party, whose phone replaces the answered call
// with the picker (an attended-transfer-style swap).
func (ph *Phone) PickUpByReplaces(target string) (*Call, error) {
	l, ok := ph.Lamp(target)
	if !ok {
		return nil, fmt.Errorf("%s has no busy lamp key for %s", ph.user, target)
	}
	proxy := ph.OutboundProxy()
	if proxy == "" {
		return nil, fmt.Errorf("%s: no registrar to send the pickup to", ph.user)
	}
	d := l.Dialog
	switch l.State {
	case dialoginfo.Early: // ringing, with both tags (trying has no callee's tag yet)
		uri := gosip.Uri{Scheme: "sip", User: target, Host: ph.domain}
		return ph.DialURI(uri, proxy, gosip.NewHeader("Replaces", fmt.Sprintf("%s;to-tag=%s;from-tag=%s;early-only", d.CallID, d.LocalTag, d.RemoteTag)))
	case dialoginfo.Confirmed:
		var uri gosip.Uri
		if err := gosip.ParseUri(d.Remote, &uri); err != nil || uri.User == "" {
			return nil, fmt.Errorf("%s's lamp for %s: the call's other party %q cannot be called", ph.user, target, d.Remote)
		}
		uri = gosip.Uri{Scheme: "sip", User: uri.User, Host: ph.domain}
		return ph.DialURI(uri, proxy, gosip.NewHeader("Replaces", fmt.Sprintf("%s;to-tag=%s;from-tag=%s", d.CallID, d.RemoteTag, d.LocalTag)))
	}
	return nil, fmt.Errorf("%s's lamp for %s shows %s: no call to pick up", ph.user, target, l.String())
}
