package sip

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// When the pool a phone subscribes through does not hold the watched resource (a colleague
// served by the other pool, a group whose range another pool owns), it subscribes to the
// dialog package at the pool that does, once per resource whatever the number of its
// phones watching, and passes each NOTIFY it gets on to them, as a resource list server
// would (RFC 4662 does it for lists). Pools speak SIP to each other only: this is RFC 6665
// between peers, accepted from a peer pool's own address like the dialog PUBLISH of
// pickup_report.go. When the deployment says the resource moved (Set-CsCallParkOrbit, a
// failover, a failback) this subscription is dropped for one at the new pool; when that
// pool fails, it is dropped at once and the lamps say "unknown" in their next NOTIFY.

const (
	// upstreamExpires is the lifetime of a pool's subscription at a peer; it is refreshed
	// at nine tenths of it, on the simulation clock.
	upstreamExpires = 3600
	// upstreamRetry is how long a pool waits before it asks a peer again after the peer
	// refused or ended its subscription for a reason other than "subscribe again now".
	upstreamRetry = 30 * time.Second
)

// peerWatch is this pool's subscription at a peer pool.
type peerWatch struct {
	l      *lamps
	w      topology.Watched
	peer   string // FQDN
	addr   string // where it listens
	callID string
	tag    string // this pool's

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	peerTag string
	contact gosip.Uri // the peer's remote target
	cseq    uint32
	ready   bool // the peer's first NOTIFY came, or the subscription failed
	gone    bool // refused, failed or ended by the peer
	retryAt time.Time
	doc     lampDoc
	refresh clock.Timer
}

// fromUpstream returns what the peer said of w, once it said something.
func (l *lamps) fromUpstream(w topology.Watched, peer string) (lampDoc, bool) {
	l.mu.Lock()
	u := l.watches[w]
	l.mu.Unlock()
	if u == nil || u.peer != peer {
		return lampDoc{}, false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.doc, u.ready
}

// syncUpstreams keeps one subscription per resource at the peer that holds it, and none
// for resources nobody here watches any more or that moved.
func (l *lamps) syncUpstreams(remote map[topology.Watched]string) {
	now := l.rt.pool.dep.Clock().Now()
	var stale, fresh []*peerWatch
	l.mu.Lock()
	for w, u := range l.watches {
		u.mu.Lock()
		retry := u.gone && !now.Before(u.retryAt)
		u.mu.Unlock()
		if remote[w] != u.peer || retry {
			delete(l.watches, w)
			stale = append(stale, u)
		}
	}
	for w, pool := range remote {
		if _, ok := l.watches[w]; ok {
			continue
		}
		peer, ok := l.rt.pool.dep.peer(pool)
		if !ok {
			continue
		}
		ctx, cancel := context.WithCancel(l.rt.ctx)
		// Each resource at each peer counts its own subscriptions (sip/ids): a count shared
		// by all would follow the order of this map.
		kind := "upstream-" + w.String() + "@" + pool
		u := &peerWatch{l: l, w: w, peer: pool, addr: peer.addr, callID: l.rt.pool.ids.CallID(kind) + "@" + l.rt.pool.fqdn,
			tag: l.rt.pool.ids.Tag(kind), ctx: ctx, cancel: cancel}
		l.watches[w] = u
		fresh = append(fresh, u)
	}
	l.mu.Unlock()
	for _, u := range stale {
		u.stop()
	}
	for _, u := range fresh {
		// The pool's own sends (Pool.OwnSends): a replay records them under the step
		// that moved the resource.
		l.rt.pool.sendOnOwn(func() { u.subscribe(upstreamExpires) })
	}
}

// request builds a SUBSCRIBE of this subscription, to the peer.
func (u *peerWatch) request(expires int) *gosip.Request {
	rt := u.l.rt
	domain := rt.pool.dep.Domain()
	u.mu.Lock()
	defer u.mu.Unlock()
	ruri := u.contact
	if ruri.Host == "" {
		host, port, _ := net.SplitHostPort(u.addr)
		pn, _ := strconv.Atoi(port)
		ruri = gosip.Uri{Scheme: "sip", User: u.w.Name, Host: host, Port: pn}
	}
	req := gosip.NewRequest(gosip.SUBSCRIBE, *ruri.Clone())
	req.AppendHeader(&gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", Host: rt.pool.fqdn}, Params: gosip.HeaderParams{{K: "tag", V: u.tag}}})
	to := &gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: u.w.Name, Host: domain}}
	if u.peerTag != "" {
		to.Params = gosip.HeaderParams{{K: "tag", V: u.peerTag}}
	}
	req.AppendHeader(to)
	cid := gosip.CallIDHeader(u.callID)
	req.AppendHeader(&cid)
	u.cseq++
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: u.cseq, MethodName: gosip.SUBSCRIBE})
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(&gosip.ContactHeader{Address: rt.contactURI()})
	req.AppendHeader(gosip.NewHeader("Event", dialoginfo.Event))
	req.AppendHeader(gosip.NewHeader("Accept", dialoginfo.ContentType))
	req.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(expires)))
	return req
}

// subscribe sends the initial SUBSCRIBE, or a refresh, and arms the next refresh.
func (u *peerWatch) subscribe(expires int) {
	rt := u.l.rt
	req := u.request(expires)
	ctx, cancel := context.WithTimeout(u.ctx, notifyTimeout)
	defer cancel()
	t := rt.pool.dep.Clock().AfterFunc(notifyTimeout, cancel)
	defer t.Stop()
	_, clTx, err := rt.request(ctx, req, target{addr: u.addr, transport: "udp", name: u.peer})
	var res *gosip.Response
	if err == nil {
		res = siputil.AwaitFinal(ctx, clTx)
		clTx.Terminate()
	}
	if u.ctx.Err() != nil || expires == 0 {
		return
	}
	if res == nil || !res.IsSuccess() {
		why := fmt.Sprintf("%s did not answer this pool's subscription to %s", u.peer, u.w)
		if res != nil {
			why = fmt.Sprintf("%s refused this pool's subscription to %s: %s", u.peer, u.w, lync.OutcomeOf(res))
		}
		u.fail(why, true)
		return
	}
	u.mu.Lock()
	if tag, ok := res.To().Params.Get("tag"); ok && u.peerTag == "" {
		u.peerTag = tag
	}
	if c := res.Contact(); c != nil && u.contact.Host == "" {
		u.contact = *c.Address.Clone()
	}
	granted := siputil.Expires(res, expires)
	if u.refresh != nil {
		u.refresh.Stop()
	}
	u.refresh = rt.pool.dep.Clock().AfterFunc(time.Duration(granted)*time.Second*9/10, func() { rt.pool.sendOnOwn(func() { u.subscribe(upstreamExpires) }) })
	u.mu.Unlock()
}

// fail marks the subscription gone: the lamps of its resource say why until it is asked
// again (after upstreamRetry, or at once when later is false).
func (u *peerWatch) fail(why string, later bool) {
	rt := u.l.rt
	u.mu.Lock()
	u.ready, u.gone = true, true
	u.doc = lampDoc{unknown: why}
	u.retryAt = rt.pool.dep.Clock().Now()
	if later {
		u.retryAt = u.retryAt.Add(upstreamRetry)
		rt.pool.dep.Clock().AfterFunc(upstreamRetry, u.l.changed)
	}
	u.mu.Unlock()
	rt.pool.log.Info("busy lamp: no subscription at the pool that holds the resource", "watching", u.w.String(), "peer", u.peer, "why", why)
	u.l.changed()
}

// stop ends the subscription at the peer (best effort: the peer may be gone).
func (u *peerWatch) stop() {
	u.mu.Lock()
	if u.refresh != nil {
		u.refresh.Stop()
	}
	established := u.peerTag != "" && !u.gone
	u.mu.Unlock()
	if established {
		if p, ok := u.l.rt.pool.dep.peer(u.peer); ok && p.up {
			u.l.rt.pool.sendOnOwn(func() {
				u.subscribe(0)
				u.cancel()
			})
			return
		}
	}
	u.cancel()
}

// upstreamNotify takes a NOTIFY of one of this pool's subscriptions at a peer, and reports
// whether it was one. Only the peer itself, from its own address, may send it.
func (l *lamps) upstreamNotify(req *gosip.Request, tx gosip.ServerTransaction) bool {
	if !strings.EqualFold(eventPackage(req), dialoginfo.Event) {
		return false
	}
	id := siputil.CallID(req)
	l.mu.Lock()
	var u *peerWatch
	for _, x := range l.watches {
		if x.callID == id {
			u = x
		}
	}
	l.mu.Unlock()
	rt := l.rt
	p, fromPeer := rt.peerPool(req)
	if u == nil || !fromPeer || p.fqdn != u.peer {
		return false
	}
	info, err := dialoginfo.Parse(req.Body())
	if err != nil {
		rt.respond(tx, req, topology.MalformedBody(err))
		return true
	}
	// The lamps show the peer's news before the 200 goes (the phone does likewise): the
	// NOTIFYs this sets off are the pool's own sends (Pool.OwnSends) by the time the peer,
	// and a replay waiting for it, sees its NOTIFY answered.
	defer tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	state := ""
	if h := req.GetHeader("Subscription-State"); h != nil {
		state = strings.ToLower(strings.TrimSpace(h.Value()))
	}
	u.mu.Lock()
	if tag, ok := req.From().Params.Get("tag"); ok && u.peerTag == "" {
		u.peerTag = tag
	}
	if c := req.Contact(); c != nil && u.contact.Host == "" {
		u.contact = *c.Address.Clone()
	}
	u.ready = true
	u.doc = lampDoc{dialogs: info.Dialogs, unknown: info.Unknown}
	u.mu.Unlock()
	if strings.HasPrefix(state, "terminated") {
		reason := ""
		if _, r, ok := strings.Cut(state, "reason="); ok {
			reason, _, _ = strings.Cut(r, ";")
		}
		u.fail(fmt.Sprintf("%s ended this pool's subscription to %s (%s)", u.peer, u.w, state),
			reason != "deactivated" && reason != "timeout")
		return true
	}
	l.changed()
	return true
}

// onNotify takes NOTIFYs: those of this pool's subscriptions at peers, and otherwise
// passes them on like any in-dialog request (relay.go).
func (rt *runtime) onNotify(req *gosip.Request, tx gosip.ServerTransaction) {
	if rt.lamps.upstreamNotify(req, tx) {
		return
	}
	rt.onInDialog(req, tx)
}
