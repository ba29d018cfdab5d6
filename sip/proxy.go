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

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// forwardTimeout bounds how long a pool waits on a branch that never answers finally
// (a dead peer); ringing phones keep a branch alive far longer than any test needs.
const forwardTimeout = 10 * time.Minute

// onInvite routes a new INVITE as the deployment model decides: orbit numbers to the
// pool that owns their range, users to the pool that serves them, or a rejection.
func (rt *runtime) onInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, tagged := to.Params.Get("tag"); tagged {
			rt.onInDialog(req, tx)
			return
		}
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		rt.refuse(tx, req, topology.TooManyHops())
		return
	}
	contactByAddress(req)       // relay.go: dialogs never need a name resolved
	if rt.onReplaces(req, tx) { // a takeover of a call ringing here, or a refusal (pickup_directed.go)
		return
	}
	if rt.isParkRequest(req) {
		rt.park(req, tx) // Call Park (callpark.go)
		return
	}
	p := rt.pool
	caller, ok := rt.identify(req, tx)
	if !ok {
		return
	}
	dialled := req.Recipient.User
	route := p.dep.route(p.fqdn, caller, dialled)
	rt.log("INVITE", req, "caller", caller.User, "dialled", dialled, "route", route.Kind.String())
	if _, served := rt.lookup(caller.User); served && caller.Enterprise() {
		rt.dialogs.outgoing(req, caller.User) // the caller's busy lamp (blf_dialogs.go)
	}
	defer rt.dialogs.settle(siputil.CallID(req))
	switch route.Kind {
	case topology.Rejected:
		rt.refuse(tx, req, route.Reject) // stateless: a flood of calls to unknown numbers leaves nothing behind
	case topology.ToPool:
		peer, ok := p.dep.peer(route.Pool)
		if !ok {
			rt.refuse(tx, req, topology.PoolNotAnswering(route.Pool))
			return
		}
		rt.forward(req, tx, caller, target{uri: req.Recipient, addr: peer.addr, transport: "udp", name: peer.fqdn}, nil)
	case topology.ToUser:
		rt.ringUser(req, tx, caller, route.User, route.PrivateLine)
	case topology.ToPickup:
		rt.pickUp(req, tx, caller, route.Number)
	case topology.ToOrbit:
		rt.retrieve(req, tx, caller, route.Number) // Call Park (callpark.go)
	case topology.ToDirectedPickup:
		rt.pickUpDirected(req, tx, caller, route.User) // pickup_directed.go
	}
}

// ringUser forwards an INVITE to the callee's registration. A call to a member of a Group
// Call Pickup group is entered in the group's queue: here when this pool's Call Park
// application holds it, or reported to the pool that owns the group's range (SPEC section
// 3; pickup_report.go).
func (rt *runtime) ringUser(req *gosip.Request, tx gosip.ServerTransaction, caller topology.Caller, user string, private bool) {
	p := rt.pool
	b, ok := rt.lookup(user)
	if !ok {
		rt.refuse(tx, req, topology.NotRegisteredHere(user, p.fqdn))
		return
	}
	dest := b.route()                               // relay.go: the phone's TCP or TLS connection, or its proven UDP address
	rt.dialogs.incoming(req, user, caller, private) // the callee's busy lamp (blf_dialogs.go)
	rc := rt.enterQueue(req, tx, caller, user, private)
	if rc == nil {
		rc = rt.ringDirectly(req, tx, caller, user, private) // still open to a directed pickup
	}
	if rc != nil {
		defer rt.leaveQueue(rc)
	}
	rt.forward(req, tx, caller, dest, rc)
}

// forward proxies an INVITE statefully to dest without Record-Route, relaying responses
// upstream and CANCELs downstream. A ringing call in a pickup queue (rc) can be taken over
// by the Call Park application while it rings.
func (rt *runtime) forward(req *gosip.Request, tx gosip.ServerTransaction, caller topology.Caller, dest target, rc *ringingCall) {
	out := req.Clone()
	out.Recipient = *dest.uri.Clone()
	for out.RemoveHeader(lync.HeaderAssertedIdentity) {
	}
	if caller.Enterprise() {
		out.AppendHeader(gosip.NewHeader(lync.HeaderAssertedIdentity, fmt.Sprintf("<sip:%s@%s>", caller.User, rt.pool.dep.Domain())))
	}
	tx.Respond(gosip.NewResponseFromRequest(req, 100, "Trying", nil))

	ctx, cancel := context.WithTimeout(rt.ctx, forwardTimeout)
	defer cancel()
	out, clTx, err := rt.request(ctx, out, dest) // transport.go: by TCP when large
	if err != nil {
		rt.pool.log.Warn("INVITE not forwarded", "call_id", siputil.CallID(req), "to", dest.addr, "err", err)
		rt.respond(tx, req, topology.NextHopUnreachable(dest.name))
		return
	}
	handedOff := false // a picked-up call's branch is left to completeElsewhere to end
	defer func() {
		if !handedOff {
			clTx.Terminate()
			rt.forgetCancel(out)
		}
	}()
	// The caller's CANCEL is answered by the transaction layer; pass it on once, with its
	// Reason. A CANCEL that came before OnCancel was registered shows as tx.Done below.
	var cancelOnce sync.Once
	cancelDownstream := func(reason gosip.Header) {
		cancelOnce.Do(func() { rt.cancelBranch(out, reason, nil) })
	}
	tx.OnCancel(func(c *gosip.Request) { cancelDownstream(c.GetHeader("Reason")) })
	var picked <-chan pickRequest
	if rc != nil {
		picked = rc.picked
		defer close(rc.done)
	}
	timerC := newBranchTimer(rt.pool.dep.Clock(), TimerC)
	defer timerC.stop()
	for {
		select {
		case res := <-clTx.Responses():
			if res.StatusCode == 100 {
				continue
			}
			rt.rememberAnswer(req, res, caller) // who talked to whom, before they can park (callpark_admit.go)
			rt.dialogs.branch(req, res)         // the callee's busy lamp (blf_dialogs.go)
			if res.StatusCode < 200 {
				timerC.reset()
				rt.ringingEarly(rc, res) // the owner of the group's queue learns it rings first
			}
			up := upstream(req, res)
			if err := tx.Respond(up); err != nil {
				rt.pool.log.Debug("relaying response upstream failed", "call_id", siputil.CallID(req), "code", res.StatusCode, "err", err)
			}
			if res.StatusCode >= 200 {
				handedOff = res.IsSuccess() && rt.relay2xxRetransmissions(req, clTx) // proxy_retransmit.go
				return
			}
		case pr := <-picked:
			if pr.pickerLeg.Context().Err() != nil {
				pr.result <- pickResult{err: errPickerGone} // keep ringing the callee
				continue
			}
			handedOff = true
			// The branch is CANCELled for the pickup (completeElsewhere); the caller's own
			// CANCEL, if it comes now, changes nothing on it (RFC 3261 9.1), and is not
			// passed on: once the pickup's CANCEL ends the branch, its claim is forgotten,
			// and a second CANCEL would go to the callee or not as the 487 raced it.
			cancelOnce.Do(func() {})
			rt.completeElsewhere(out, clTx, pr)
			rt.answerPickedCall(req, tx, pr)
			return
		case <-timerC.C:
			// RFC 3261 16.7 step 2: a branch silent beyond Timer C is cancelled and the caller
			// told 408; leaving returns the call's pickup queue entry.
			handedOff = true // the branch is cancelled, then drained, in the background
			go func() {
				defer rt.forgetCancel(out)
				defer clTx.Terminate()
				cancelDownstream(nil)
				rt.drain(clTx)
			}()
			rt.respond(tx, req, topology.RingingTimedOut(dest.uri.String(), TimerC))
			return
		case <-clTx.Done():
			rt.respond(tx, req, topology.NoAnswerFrom(dest.name))
			return
		case <-tx.Done():
			// Cancelled upstream: wait for the branch's final answer so the transaction
			// layer acknowledges the 487.
			cancelDownstream(nil)
			rt.drain(clTx)
			return
		case <-rt.ctx.Done():
			return
		}
	}
}

// drain reads a branch's remaining responses until its final one.
func (rt *runtime) drain(clTx gosip.ClientTransaction) {
	ctx, cancel := context.WithTimeout(rt.ctx, siputil.TransactionTimeout())
	defer cancel()
	siputil.AwaitFinal(ctx, clTx)
}

// cancelBranch sends CANCEL for a forwarded INVITE, with a Reason and extra headers, unless
// the branch has been CANCELled already (claimCancel).
func (rt *runtime) cancelBranch(out *gosip.Request, reason gosip.Header, extra []gosip.Header) {
	if rt.claimCancel(out) {
		rt.sendCancel(out, reason, extra)
	}
}

// claimCancel reports whether the caller is the first to CANCEL out's branch: the caller's
// CANCEL and a pickup that takes the call over may both end one branch, and the first says
// why (RFC 3261 9.1: a CANCEL of a branch cancelled already changes nothing). Whoever ends
// the branch's transaction forgets it (forgetCancel).
func (rt *runtime) claimCancel(out *gosip.Request) bool {
	_, done := rt.cancelled.LoadOrStore(branchOf(out), struct{}{})
	return !done
}

// forgetCancel forgets out's branch: its transaction is over.
func (rt *runtime) forgetCancel(out *gosip.Request) { rt.cancelled.Delete(branchOf(out)) }

func branchOf(req *gosip.Request) string {
	if via := req.Via(); via != nil {
		return via.Params.GetOr("branch", "")
	}
	return ""
}

// sendCancel sends CANCEL for a forwarded INVITE, with a Reason and extra headers.
func (rt *runtime) sendCancel(out *gosip.Request, reason gosip.Header, extra []gosip.Header) {
	ctx, cancel := context.WithTimeout(rt.ctx, siputil.TransactionTimeout())
	defer cancel()
	if err := siputil.SendCancel(ctx, rt.cli, out, reason, extra); err != nil {
		rt.pool.log.Warn("CANCEL not sent", "call_id", siputil.CallID(out), "err", err)
	}
}

// onAck takes ACKs for the Call Park application's own answers, and passes on an ACK a
// phone sends through the pool to a registered phone or a peer pool (relay.go). Any other
// ACK is dropped: an ACK is never answered, so a refusal would have nowhere to go.
func (rt *runtime) onAck(req *gosip.Request, tx gosip.ServerTransaction) {
	if err := rt.cps.ReadAck(req, tx); err == nil {
		return
	}
	if rt.isMe(req.Recipient) {
		return
	}
	dest, ok := rt.relayTarget(req.Recipient)
	if !ok {
		rt.pool.log.Debug("ACK not relayed: its Request-URI is no registered phone or pool", "call_id", siputil.CallID(req),
			"from", req.Source(), "request_uri", req.Recipient.String())
		return
	}
	out := req.Clone()
	rt.address(out, dest)
	call(rt.pool.dep.hooks().beforeAckRelay, siputil.CallID(req), "")
	if err := rt.cli.WriteRequest(out, sipgo.ClientRequestAddVia); err != nil {
		rt.pool.log.Debug("ACK not passed on", "call_id", siputil.CallID(req), "err", err)
	}
}

// onInDialog handles BYE and other in-dialog requests: the Call Park application's legs
// first; otherwise a request a phone sends through the pool is passed on to a registered
// phone or a peer pool (pools do not Record-Route, so this is rare), and refused for
// anything else (relay.go).
func (rt *runtime) onInDialog(req *gosip.Request, tx gosip.ServerTransaction) {
	// Never ahead of an ACK read before it (dialog_order.go).
	rt.order.waitAcks(siputil.CallID(req))
	if req.Method == gosip.BYE {
		defer rt.dialogs.end(siputil.CallID(req), "") // a BYE the pool sees ends the call on its lamps
	}
	if rt.parking.inDialog(req, tx) { // Call Park legs (callpark.go)
		return
	}
	if rt.byeBridge(req, tx) {
		return
	}
	if rt.refreshSession(req, tx) { // RFC 4028 refreshes on Call Park legs (cps_session_timer.go)
		return
	}
	if rt.isMe(req.Recipient) {
		rt.refuse(tx, req, topology.NoSuchDialog(rt.pool.fqdn))
		return
	}
	dest, ok := rt.relayTarget(req.Recipient)
	if !ok {
		rt.log("not relayed: the Request-URI is no registered phone or pool", req, "request_uri", req.Recipient.String())
		rt.refuse(tx, req, topology.NotRelayed(rt.pool.fqdn))
		return
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		rt.refuse(tx, req, topology.TooManyHops())
		return
	}
	ctx, cancel := context.WithTimeout(rt.ctx, 32*time.Second)
	defer cancel()
	_, clTx, err := rt.request(ctx, req.Clone(), dest) // transport.go: by TCP when large
	if err != nil {
		rt.pool.log.Warn("request not relayed", "method", string(req.Method), "call_id", siputil.CallID(req), "to", dest.addr, "err", err)
		rt.respond(tx, req, topology.NextHopUnreachable(dest.name))
		return
	}
	defer clTx.Terminate()
	for {
		select {
		case res := <-clTx.Responses():
			up := upstream(req, res)
			tx.Respond(up)
			if res.StatusCode >= 200 {
				return
			}
		case <-clTx.Done():
			rt.respond(tx, req, topology.NoAnswerFrom(dest.name))
			return
		case <-tx.Done():
			return
		}
	}
}

// address sets where out goes: dest's address and transport, leaving from the pool's UDP
// socket over UDP.
func (rt *runtime) address(out *gosip.Request, dest target) {
	out.SetDestination(dest.addr)
	out.SetTransport(strings.ToUpper(dest.transport))
	out.Laddr = gosip.Addr{}
	if strings.EqualFold(dest.transport, "udp") {
		out.Laddr = rt.laddr
	}
}

// isMe reports whether a URI addresses this pool itself.
func (rt *runtime) isMe(u gosip.Uri) bool {
	host, port, _ := net.SplitHostPort(rt.pool.Addr())
	return u.Host == host && (u.Port == 0 && port == "5060" || strconv.Itoa(u.Port) == port) || u.Host == rt.pool.fqdn
}

// upstream turns a response from a branch into the response to the request that came in:
// without the pool's own Via, addressed to where the request came from (RFC 3261 16.7).
func upstream(req *gosip.Request, res *gosip.Response) *gosip.Response {
	up := res.Clone()
	contactByAddress(up) // relay.go
	up.RemoveHeader("Via")
	up.SetDestination(req.Source())
	up.SetTransport(req.Transport())
	return up
}
