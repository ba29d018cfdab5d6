package sip

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

	"github.com/pickupsim/pickupsim/pickup"
	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// A Group Call Pickup queue is held by the Call Park application of the pool that owns the
// group's range, wherever the member is served (SPEC section 3). Pools talk only through
// SIP: the pool that rings a member tells the owner with a PUBLISH of the dialog event
// package (RFC 3903, RFC 4235), "early" when the member's phone rings and "terminated" when
// the ringing ends. The owner queues the call with the pool that holds it; a pickup hands the
// picker's INVITE over to that pool (pickup_remote.go).

// reportTimeout bounds the wait for the owner's answer to an "early" report; the caller
// hears ringing once it is in (or given up), so a pickup dialled right after finds the call.
const reportTimeout = time.Second

// documentVersions numbers the dialog-info documents a pool sends about each entity (RFC
// 4235 4.1.1 asks for an increasing version per entity).
type documentVersions struct {
	mu sync.Mutex
	n  map[string]uint32
}

func (v *documentVersions) next(entity string) uint32 {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.n == nil {
		v.n = map[string]uint32{}
	}
	v.n[entity]++
	return v.n[entity]
}

// enterQueue decides, through the deployment model, whether a call about to ring user is a
// Group Call Pickup call, and enters it: in this pool's queue when this pool owns the
// group's range, otherwise to be reported to the owner once the callee rings. It returns the
// ringing call, or nil.
func (rt *runtime) enterQueue(req *gosip.Request, tx gosip.ServerTransaction, caller topology.Caller, user string, private bool) *ringingCall {
	p := rt.pool
	q, ok := p.dep.queueAt(p.fqdn, topology.Ringing{Callee: user, PrivateLine: private})
	if !ok {
		return nil
	}
	who := caller.User
	if who == "" {
		who = req.From().Address.String()
	}
	rc := newRingingCall(req, tx, who, user, q, p.dep.Clock().Now(), private)
	id := siputil.CallID(req)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if _, dup := rt.ringing[id]; dup {
		return nil
	}
	if q.Owner == p.fqdn {
		err := rt.queues.Add(pickup.Call{ID: id, Caller: who, Callee: user, Number: q.Number, Since: p.dep.Clock().Now(),
			Blocked: string(q.Blocked), Why: q.Why})
		if err != nil {
			return nil
		}
	}
	rt.ringing[id] = rc
	rt.log("ringing a group call pickup member", req, "callee", user, "number", q.Number, "queue", q.Owner, "blocked", q.Why)
	return rc
}

// leaveQueue takes a call out of its pickup queue once its ringing ended (answered,
// refused, cancelled, picked up, timed out), here or at the owner.
func (rt *runtime) leaveQueue(rc *ringingCall) {
	id := siputil.CallID(rc.req)
	rt.mu.Lock()
	if rt.ringing[id] == rc {
		delete(rt.ringing, id)
	}
	if rc.q.Owner == rt.pool.fqdn {
		rt.queues.Remove(id)
	}
	rt.mu.Unlock()
	rc.mu.Lock()
	reported := rc.reported
	rc.mu.Unlock()
	if reported {
		go rt.publishRinging(rc, dialoginfo.Terminated, siputil.TransactionTimeout())
	}
}

// ringingEarly reports a call to the owner of its group's queue when the callee's phone
// first rings (a provisional response with a To tag: RFC 4235's "early" dialog).
func (rt *runtime) ringingEarly(rc *ringingCall, res *gosip.Response) {
	if rc == nil {
		return
	}
	tag, _ := res.To().Params.Get("tag")
	rc.mu.Lock()
	if rc.reported || rc.calleeTag != "" || tag == "" {
		rc.mu.Unlock()
		return
	}
	rc.calleeTag = tag
	rc.mu.Unlock()
	if rc.q.Owner == "" || rc.q.Owner == rt.pool.fqdn {
		return // nobody else to tell (a call queued here, or in no group)
	}
	if err := rt.publishRinging(rc, dialoginfo.Early, reportTimeout); err != nil {
		rt.pool.log.Warn("group call pickup: the queue's pool was not told", "call_id", siputil.CallID(rc.req), "owner", rc.q.Owner, "err", err)
		return
	}
	rc.mu.Lock()
	rc.reported = true
	rc.mu.Unlock()
}

// publishRinging sends the owner of rc's queue the dialog state of the ringing call.
func (rt *runtime) publishRinging(rc *ringingCall, state string, timeout time.Duration) error {
	owner, ok := rt.pool.dep.peer(rc.q.Owner)
	if !ok {
		return fmt.Errorf("no pool %s", rc.q.Owner)
	}
	domain := rt.pool.dep.Domain()
	entity := fmt.Sprintf("sip:%s@%s", rc.callee, domain)
	rc.mu.Lock()
	calleeTag := rc.calleeTag
	rc.mu.Unlock()
	callerTag, _ := rc.req.From().Params.Get("tag")
	version := rt.pool.documents.next(entity)
	info := dialoginfo.Info{Version: version, Entity: entity, Dialogs: []dialoginfo.Dialog{{
		ID: siputil.CallID(rc.req), CallID: siputil.CallID(rc.req), LocalTag: calleeTag, RemoteTag: callerTag, Direction: "recipient",
		State: state, Local: entity, Remote: strings.Trim(rt.identityOf(rc.caller), "<>"),
		Pickup: &dialoginfo.Pickup{Number: rc.q.Number, Blocked: string(rc.q.Blocked), Why: rc.q.Why},
	}}}
	host, port, _ := net.SplitHostPort(owner.addr)
	pn, _ := strconv.Atoi(port)
	req := gosip.NewRequest(gosip.PUBLISH, gosip.Uri{Scheme: "sip", User: rc.callee, Host: domain})
	// Identifiers of the document, not of a count of PUBLISHes: reports of calls ringing
	// at once are sent concurrently (package ids).
	g, doc := rt.pool.ids, []string{entity, strconv.FormatUint(uint64(version), 10), siputil.CallID(rc.req), state}
	callID := g.Token(append([]string{"publish"}, doc...)...)
	req.AppendHeader(&gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", Host: rt.pool.fqdn}, Params: gosip.HeaderParams{{K: "tag", V: g.Token(append([]string{"publish-tag"}, doc...)...)}}})
	cid := gosip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: g.CSeq(callID), MethodName: gosip.PUBLISH})
	req.AppendHeader(&gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: rc.callee, Host: domain}})
	req.AppendHeader(gosip.NewHeader("Event", dialoginfo.Event))
	expires := "0"
	if state != dialoginfo.Terminated {
		expires = strconv.Itoa(int((TimerC + time.Minute) / time.Second))
	}
	req.AppendHeader(gosip.NewHeader("Expires", expires))
	req.AppendHeader(gosip.NewHeader("Content-Type", dialoginfo.ContentType))
	req.SetBody(dialoginfo.Build(info))
	req.SetDestination(net.JoinHostPort(host, strconv.Itoa(pn)))
	req.SetTransport("UDP")
	req.Laddr = rt.laddr
	ctx, cancel := context.WithTimeout(rt.ctx, timeout)
	defer cancel()
	res, err := siputil.FinalOrError(rt.cli.Do(ctx, req, sipgo.ClientRequestBuild))
	if err != nil {
		return err
	}
	if !res.IsSuccess() {
		return fmt.Errorf("%s answered %s", rc.q.Owner, lync.OutcomeOf(res))
	}
	return nil
}

// onPublish is the owner's side: dialog state of calls ringing members of the groups whose
// ranges this pool owns, from the pools that ring them, and only from those (a pool's
// exact address: a phone cannot fill a queue).
func (rt *runtime) onPublish(req *gosip.Request, tx gosip.ServerTransaction) {
	src, ok := rt.pool.dep.peerAt(req.Source())
	if !ok {
		rt.respond(tx, req, topology.NotFromAPeerPool("PUBLISH"))
		return
	}
	if ev := eventPackage(req); ev != dialoginfo.Event {
		rt.respond(tx, req, topology.BadEvent(ev))
		return
	}
	if ct := req.ContentType(); ct == nil || !strings.EqualFold(strings.TrimSpace(ct.Value()), dialoginfo.ContentType) {
		got := ""
		if ct != nil {
			got = ct.Value()
		}
		rt.respond(tx, req, topology.UnsupportedBody(got, dialoginfo.ContentType))
		return
	}
	info, err := dialoginfo.Parse(req.Body())
	if err != nil {
		rt.respond(tx, req, topology.MalformedBody(err))
		return
	}
	callee := userOfURI(info.Entity)
	for _, d := range info.Dialogs {
		if d.Pickup == nil || d.CallID == "" {
			continue
		}
		if d.State == dialoginfo.Terminated || d.State == dialoginfo.Confirmed {
			rt.forgetReported(d.CallID, src.fqdn)
			continue
		}
		number := d.Pickup.Number
		if !rt.pool.dep.holdsQueue(rt.pool.fqdn, number) {
			rt.respond(tx, req, topology.NotHoldingQueue(rt.pool.fqdn, number))
			return
		}
		c := pickup.Call{ID: d.CallID, Caller: rt.callerOf(d.Remote), Callee: callee, Number: topology.Dialled(number),
			Since: rt.pool.dep.Clock().Now(), Holder: src.fqdn, Blocked: d.Pickup.Blocked, Why: d.Pickup.Why}
		rt.mu.Lock()
		if rt.queues.Add(c) == nil {
			rt.heldDialogs[d.CallID] = d
		}
		rt.mu.Unlock()
		rt.log("queued for group call pickup, held by "+src.fqdn, req, "callee", callee, "number", number, "blocked", d.Pickup.Why)
	}
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(gosip.NewHeader("SIP-ETag", strconv.FormatUint(uint64(info.Version), 10)))
	if h := req.GetHeader("Expires"); h != nil {
		res.AppendHeader(gosip.NewHeader("Expires", h.Value()))
	}
	tx.Respond(res)
}

// forgetReported takes a call another pool reported out of this pool's queue.
func (rt *runtime) forgetReported(id, holder string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	delete(rt.heldDialogs, id)
	rt.queues.Drop(func(c pickup.Call) bool { return c.ID == id && c.Holder == holder })
}

// callerOf turns a reported caller address back into what the queue stores: the user's
// name for an enterprise user, the address otherwise.
func (rt *runtime) callerOf(addr string) string {
	var u gosip.Uri
	if err := gosip.ParseUri(addr, &u); err == nil && strings.EqualFold(u.Host, rt.pool.dep.Domain()) {
		if _, ok := rt.pool.dep.User(u.User); ok {
			return u.User
		}
	}
	return addr
}

// eventPackage returns the package of a request's Event header, without parameters.
func eventPackage(req *gosip.Request) string {
	h := req.GetHeader("Event")
	if h == nil {
		return ""
	}
	v, _, _ := strings.Cut(h.Value(), ";")
	return strings.TrimSpace(v)
}

// userOfURI returns the user part of a SIP URI, or "".
func userOfURI(s string) string {
	var u gosip.Uri
	if err := gosip.ParseUri(s, &u); err != nil {
		return ""
	}
	return u.User
}
