package sip

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// The dialogs a pool sees for the users it serves, which their busy lamps show (RFC 4235).
// The pool that serves a user proxies every call to and from it, statefully: it sees the
// INVITE (trying), the callee's first provisional response with a To tag (early), the 2xx
// (confirmed) and every final refusal or CANCEL (terminated). It does not see the BYE of
// a call set up phone to phone: pools do not Record-Route, so that established calls
// outlive their pool (README, "Routing"). A real Lync pool or a PBX record-routes or is a
// back-to-back agent and knows at once; desk phones do not publish their own dialogs (RFC
// 4235 publications are a server's business). So the pool asks: while someone watches a
// user, every DialogProbeInterval on the simulation clock it sends each of the user's
// answered calls an OPTIONS inside the dialog, as the other party (as the dialog
// keep-alives of Kamailio's and OpenSIPS's dialog modules do). A phone answers a request
// for a dialog it no longer has with 481 (RFC 3261 12.2.2); that, or silence, ends the
// dialog on the lamp. The CSeq is the other party's first one, never higher, so the probe
// cannot push a real request of that party out of order. BYEs the pool does see (its Call
// Park application's legs) end the dialog at once.

// DialogProbeInterval is how often a pool checks that a watched user's answered calls are
// still up (a choice: OpenSIPS's dialog pings default to 30 s). A lamp goes dark at most
// this long after a call set up phone to phone is hung up.
const DialogProbeInterval = 15 * time.Second

// probeTimeout bounds the wait for a probe's answer (real time: 8 retransmissions of T1
// would be Timer F; four are enough on a lab network, and a dead phone must not hold a
// lamp lit for 32 s).
const probeTimeout = 4 * time.Second

// Bounds of a pool's dialog memory: how many calls it remembers, and how long it keeps an
// ended one (for its lamp's last NOTIFY and for a Replaces that names it: 603).
const (
	trackedCallsMax = 10000
	endedKept       = time.Minute
)

// trackedDialog is one user's side of one call.
type trackedDialog struct {
	user      string // the served user whose side this is
	direction string // "initiator" (the user called) or "recipient"
	callID    string
	localTag  string // the user's tag
	remoteTag string
	local     string // the user's identity (a SIP URI)
	remote    string // the other party's identity
	// localURI and remoteURI are the From and To addresses as the dialog uses them, for
	// probes.
	localURI, remoteURI gosip.Uri
	cseq                uint32 // the other party's CSeq a probe may use
	state               string
	event               string // why it ended (RFC 4235 section 4.1.6.2)
	since, ended        time.Time
	private             bool // a call to the user's private line
}

func (d *trackedDialog) live() bool { return d.state != dialoginfo.Terminated }

// info renders the dialog for a document about its user.
func (d *trackedDialog) info() dialoginfo.Dialog {
	return dialoginfo.Dialog{ID: d.callID + "/" + d.direction, CallID: d.callID, LocalTag: d.localTag, RemoteTag: d.remoteTag,
		Direction: d.direction, State: d.state, Event: d.event, Local: d.local, Remote: d.remote}
}

// dialogTracker is a pool's memory of its users' dialogs. An outage loses it.
type dialogTracker struct {
	rt *runtime

	mu     sync.Mutex
	byCall map[string][]*trackedDialog
	order  []string // Call-IDs, oldest first
}

func newDialogTracker(rt *runtime) *dialogTracker {
	return &dialogTracker{rt: rt, byCall: map[string][]*trackedDialog{}}
}

func (t *dialogTracker) identity(user string) string {
	return fmt.Sprintf("sip:%s@%s", user, t.rt.pool.dep.Domain())
}

// add remembers a new side of a call, forgetting the oldest calls beyond the bound and
// ended ones past endedKept.
func (t *dialogTracker) add(d *trackedDialog) {
	now := t.rt.pool.dep.Clock().Now()
	t.mu.Lock()
	if _, seen := t.byCall[d.callID]; !seen {
		t.order = append(t.order, d.callID)
	}
	t.byCall[d.callID] = append(t.byCall[d.callID], d)
	for len(t.order) > 0 {
		id := t.order[0]
		if len(t.byCall) <= trackedCallsMax && !t.allEndedBefore(id, now.Add(-endedKept)) {
			break
		}
		t.order = t.order[1:]
		delete(t.byCall, id)
	}
	t.mu.Unlock()
	t.rt.lamps.changed()
}

func (t *dialogTracker) allEndedBefore(id string, limit time.Time) bool {
	for _, d := range t.byCall[id] {
		if d.live() || d.ended.After(limit) {
			return false
		}
	}
	return true
}

// incoming remembers a call about to ring user, a user this pool serves.
func (t *dialogTracker) incoming(req *gosip.Request, user string, caller topology.Caller, private bool) {
	remote := req.From().Address.String()
	if caller.Enterprise() {
		remote = t.identity(caller.User)
	}
	callerTag, _ := req.From().Params.Get("tag")
	t.add(&trackedDialog{user: user, direction: "recipient", callID: siputil.CallID(req), remoteTag: callerTag,
		local: t.identity(user), remote: remote, localURI: gosip.Uri{Scheme: "sip", User: user, Host: t.rt.pool.dep.Domain()},
		remoteURI: *req.From().Address.Clone(), cseq: req.CSeq().SeqNo, state: dialoginfo.Trying,
		since: t.rt.pool.dep.Clock().Now(), private: private})
}

// outgoing remembers a call user places through this pool, which serves it.
func (t *dialogTracker) outgoing(req *gosip.Request, user string) {
	tag, _ := req.From().Params.Get("tag")
	t.add(&trackedDialog{user: user, direction: "initiator", callID: siputil.CallID(req), localTag: tag,
		local: t.identity(user), remote: t.identity(topology.Dialled(req.Recipient.User)),
		localURI: *req.From().Address.Clone(), remoteURI: *req.To().Address.Clone(), cseq: 1, state: dialoginfo.Trying,
		since: t.rt.pool.dep.Clock().Now()})
}

// update changes the sides of call id in direction dir with f, and reports a change.
func (t *dialogTracker) update(id, dir string, f func(d *trackedDialog) bool) {
	t.mu.Lock()
	changed := false
	for _, d := range t.byCall[id] {
		if d.direction == dir && d.live() && f(d) {
			changed = true
		}
	}
	t.mu.Unlock()
	if changed {
		t.rt.lamps.changed()
	}
}

// progress applies a response to a side: early on a provisional response with a To tag,
// confirmed on a 2xx, terminated on a refusal. tag sets the tag the response brings.
func (t *dialogTracker) progress(d *trackedDialog, res *gosip.Response, setTag func(d *trackedDialog, tag string)) bool {
	tag := ""
	if to := res.To(); to != nil {
		tag, _ = to.Params.Get("tag")
	}
	now := t.rt.pool.dep.Clock().Now()
	switch {
	case res.StatusCode < 200 && tag != "" && d.state != dialoginfo.Early:
		setTag(d, tag)
		d.state = dialoginfo.Early
	case res.StatusCode < 200:
		return false
	case res.StatusCode < 300:
		setTag(d, tag)
		d.state = dialoginfo.Confirmed
	default:
		d.state, d.event, d.ended = dialoginfo.Terminated, "rejected", now
		if res.StatusCode == 487 {
			d.event = "cancelled"
		}
	}
	return true
}

// branch follows the callee's side through the responses of the branch that rings it.
func (t *dialogTracker) branch(req *gosip.Request, res *gosip.Response) {
	t.update(siputil.CallID(req), "recipient", func(d *trackedDialog) bool {
		return t.progress(d, res, func(d *trackedDialog, tag string) { d.localTag = tag })
	})
}

// answered follows the caller's side through the responses the pool sends it (relayed,
// or the Call Park application's own).
func (t *dialogTracker) answered(req *gosip.Request, res *gosip.Response) {
	t.update(siputil.CallID(req), "initiator", func(d *trackedDialog) bool {
		return t.progress(d, res, func(d *trackedDialog, tag string) {
			d.remoteTag = tag
			if u := lync.UserOf(res.GetHeader(lync.HeaderAssertedIdentity)); u != "" && res.IsSuccess() {
				d.remote = t.identity(u) // who the Call Park application connected
			}
		})
	})
}

// settle ends the sides of call id that its INVITE transaction left unanswered (the caller
// cancelled, the call was picked up elsewhere, Timer C, a dead branch).
func (t *dialogTracker) settle(id string) {
	now := t.rt.pool.dep.Clock().Now()
	for _, dir := range []string{"initiator", "recipient"} {
		t.update(id, dir, func(d *trackedDialog) bool {
			if d.state == dialoginfo.Confirmed {
				return false
			}
			d.state, d.event, d.ended = dialoginfo.Terminated, "cancelled", now
			return true
		})
	}
}

// end ends the sides of call id, answered or not (a BYE the pool saw, a probe that found
// the call gone).
func (t *dialogTracker) end(id, event string) {
	now := t.rt.pool.dep.Clock().Now()
	for _, dir := range []string{"initiator", "recipient"} {
		t.update(id, dir, func(d *trackedDialog) bool {
			d.state, d.event, d.ended = dialoginfo.Terminated, event, now
			return true
		})
	}
}

// of returns user's sides: the live ones and those ended within endedKept.
func (t *dialogTracker) of(user string) []trackedDialog {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []trackedDialog
	for _, id := range t.order {
		for _, d := range t.byCall[id] {
			if d.user == user {
				out = append(out, *d)
			}
		}
	}
	return out
}

// find returns the side of call id whose tags are the two given, in either order (phones
// differ on which of RFC 3891's tags is which).
func (t *dialogTracker) find(id, tagA, tagB string) (trackedDialog, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range t.byCall[id] {
		if (d.localTag == tagA && d.remoteTag == tagB) || (d.localTag == tagB && d.remoteTag == tagA) {
			return *d, true
		}
	}
	return trackedDialog{}, false
}

// probe asks user's phone whether the answered call d is still up, and ends it on the lamp
// when the phone says it is gone (481) or does not answer.
func (t *dialogTracker) probe(d trackedDialog) {
	rt := t.rt
	b, ok := rt.lookup(d.user)
	if !ok {
		return // not registered here now: nothing to ask, nothing learnt
	}
	dest := b.route()
	req := gosip.NewRequest(gosip.OPTIONS, *dest.uri.Clone())
	req.AppendHeader(&gosip.FromHeader{Address: *d.remoteURI.Clone(), Params: gosip.HeaderParams{{K: "tag", V: d.remoteTag}}})
	req.AppendHeader(&gosip.ToHeader{Address: *d.localURI.Clone(), Params: gosip.HeaderParams{{K: "tag", V: d.localTag}}})
	cid := gosip.CallIDHeader(d.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: d.cseq, MethodName: gosip.OPTIONS})
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	rt.address(req, dest)
	ctx, cancel := context.WithTimeout(rt.ctx, probeTimeout)
	defer cancel()
	res, err := siputil.FinalOrError(rt.cli.Do(ctx, req, sipgo.ClientRequestAddVia))
	if rt.ctx.Err() != nil {
		return
	}
	switch {
	case err != nil:
		rt.pool.log.Info("busy lamp: the phone did not answer a dialog probe; the call counts as ended", "user", d.user, "call_id", d.callID, "err", err)
		t.end(d.callID, "")
	case res.StatusCode == 481:
		rt.pool.log.Debug("busy lamp: the call ended phone to phone", "user", d.user, "call_id", d.callID)
		t.end(d.callID, "")
	}
}

// answeredOf lists user's answered calls.
func (t *dialogTracker) answeredOf(user string) []trackedDialog {
	var out []trackedDialog
	for _, d := range t.of(user) {
		if d.state == dialoginfo.Confirmed {
			out = append(out, d)
		}
	}
	return out
}

// probeAll probes every answered call of users, concurrently, and returns when each has
// its answer.
func (t *dialogTracker) probeAll(users []string) {
	var wg sync.WaitGroup
	for _, u := range users {
		for _, d := range t.answeredOf(u) {
			wg.Go(func() { t.probe(d) })
		}
	}
	wg.Wait()
}

// ringing reports whether call id is one this pool rings now, to a user it serves.
func (t *dialogTracker) isRecipient(id string) (trackedDialog, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range t.byCall[id] {
		if d.direction == "recipient" {
			return *d, true
		}
	}
	return trackedDialog{}, false
}

// calleeOf names the served user a call rings, for logs.
func calleeOf(ds []trackedDialog) string {
	var users []string
	for _, d := range ds {
		users = append(users, d.user)
	}
	return strings.Join(users, ",")
}
