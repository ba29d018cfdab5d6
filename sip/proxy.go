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
		rt.respond(tx, req, &topology.Rejection{Code: 483, Reason: "Too Many Hops"})
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
	route := decide(p.net, func(d *topology.Deployment, now time.Time) topology.Route {
		return d.Route(p.fqdn, caller, dialled, now)
	})
	rt.log("INVITE", req, "caller", caller.User, "dialled", dialled, "route", route.Kind)
	switch route.Kind {
	case topology.Rejected:
		rt.respond(tx, req, route.Reject)
	case topology.ToPool:
		peer, ok := p.net.Pool(route.Pool)
		if !ok {
			rt.respond(tx, req, &topology.Rejection{Code: 503, Reason: "Service Unavailable", Warning: route.Pool + " is not running"})
			return
		}
		rt.forward(req, tx, caller, target{uri: req.Recipient, addr: peer.Addr(), transport: "udp"}, nil)
	case topology.ToUser:
		rt.ringUser(req, tx, caller, route.User)
	case topology.ToPickup:
		rt.pickUp(req, tx, caller, route.Number)
	case topology.ToOrbit:
		rt.retrieve(req, tx, caller, route.Number) // Call Park (callpark.go)
	}
}

// target is where a pool forwards a request.
type target struct {
	uri       gosip.Uri // the new Request-URI
	addr      string    // host:port to send to
	transport string
}

// ringUser forwards an INVITE to the callee's registration, entering it in a Group Call
// Pickup queue when the model says this pool's Call Park application holds it.
func (rt *runtime) ringUser(req *gosip.Request, tx gosip.ServerTransaction, caller topology.Caller, user string) {
	p := rt.pool
	b, ok := rt.lookup(user)
	if !ok {
		rt.respond(tx, req, &topology.Rejection{Code: 480, Reason: "Temporarily Unavailable",
			Warning: fmt.Sprintf("%s is not registered on %s", user, p.fqdn)})
		return
	}
	dest := target{uri: b.contact, addr: b.contact.HostPort(), transport: b.transport}
	if b.transport != "udp" {
		dest.addr = b.source // reuse the phone's TCP or TLS connection
	}
	var number string
	p.net.Deployment(func(d *topology.Deployment) {
		number, _ = d.QueueNumber(p.fqdn, user, p.net.clock.Now())
	})
	queued := false
	var rc *ringingCall
	if number != "" {
		rc = &ringingCall{req: req, tx: tx, picked: make(chan pickRequest, 1)}
		caller := caller.User
		if caller == "" {
			caller = req.From().Address.String()
		}
		rt.mu.Lock()
		err := rt.queues.Add(pickup.Call{ID: callID(req), Caller: caller, Callee: user, Number: number, Since: p.net.clock.Now()})
		if err == nil {
			rt.ringing[callID(req)] = rc
			queued = true
		}
		rt.mu.Unlock()
		if !queued {
			rc = nil
		}
	}
	if queued {
		rt.log("queued for group call pickup", req, "callee", user, "number", number)
		defer rt.dequeue(callID(req))
	}
	rt.forward(req, tx, caller, dest, rc)
}

// dequeue takes a call out of its pickup queue (answered, rejected, cancelled, or over).
func (rt *runtime) dequeue(id string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.queues.Remove(id)
	delete(rt.ringing, id)
}

// forward proxies an INVITE statefully to dest without Record-Route, relaying responses
// upstream and CANCELs downstream. A ringing call in a pickup queue (rc) can be taken over
// by the Call Park application while it rings.
func (rt *runtime) forward(req *gosip.Request, tx gosip.ServerTransaction, caller topology.Caller, dest target, rc *ringingCall) {
	out := req.Clone()
	out.Recipient = *dest.uri.Clone()
	out.SetDestination(dest.addr)
	out.SetTransport(strings.ToUpper(dest.transport))
	out.Laddr = gosip.Addr{}
	if strings.EqualFold(dest.transport, "udp") {
		out.Laddr = rt.laddr
	}
	for out.RemoveHeader(HeaderAssertedIdentity) {
	}
	if caller.Enterprise() {
		out.AppendHeader(gosip.NewHeader(HeaderAssertedIdentity, fmt.Sprintf("<sip:%s@%s>", caller.User, rt.pool.net.domain)))
	}
	tx.Respond(gosip.NewResponseFromRequest(req, 100, "Trying", nil))

	ctx, cancel := context.WithTimeout(rt.ctx, forwardTimeout)
	defer cancel()
	clTx, err := rt.cli.TransactionRequest(ctx, out, sipgo.ClientRequestAddVia, sipgo.ClientRequestDecreaseMaxForward)
	if err != nil {
		rt.respond(tx, req, &topology.Rejection{Code: 503, Reason: "Service Unavailable",
			Warning: fmt.Sprintf("cannot reach %s: %v", dest.addr, err)})
		return
	}
	handedOff := false // a picked-up call's branch is left to completeElsewhere to end
	defer func() {
		if !handedOff {
			clTx.Terminate()
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
	}
	for {
		select {
		case res := <-clTx.Responses():
			if res.StatusCode == 100 {
				continue
			}
			up := upstream(req, res)
			if err := tx.Respond(up); err != nil {
				rt.pool.log.Debug("relaying response upstream failed", "call_id", callID(req), "code", res.StatusCode, "err", err)
			}
			if res.StatusCode >= 200 {
				handedOff = res.IsSuccess() && rt.relay2xxRetransmissions(req, clTx) // proxy_retransmit.go
				return
			}
		case pr := <-picked:
			handedOff = true
			rt.completeElsewhere(out, clTx, pr)
			rt.answerPickedCall(req, tx, pr)
			return
		case <-clTx.Done():
			rt.respond(tx, req, &topology.Rejection{Code: 408, Reason: "Request Timeout",
				Warning: fmt.Sprintf("no final answer from %s", dest.addr)})
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
	ctx, cancel := context.WithTimeout(rt.ctx, transactionTimeout())
	defer cancel()
	awaitFinal(ctx, clTx)
}

// cancelBranch sends CANCEL for a forwarded INVITE, with a Reason and extra headers.
func (rt *runtime) cancelBranch(out *gosip.Request, reason gosip.Header, extra []gosip.Header) {
	ctx, cancel := context.WithTimeout(rt.ctx, transactionTimeout())
	defer cancel()
	if err := sendCancel(ctx, rt.cli, out, reason, extra); err != nil {
		rt.pool.log.Warn("CANCEL not sent", "call_id", callID(out), "err", err)
	}
}

// sendCancel sends CANCEL for an INVITE already sent (RFC 3261 9.1: same Request-URI,
// Call-ID, From, To, CSeq number and top Via), to where the INVITE went, and waits for its
// answer.
func sendCancel(ctx context.Context, cli *sipgo.Client, invite *gosip.Request, reason gosip.Header, extra []gosip.Header) error {
	c := gosip.NewRequest(gosip.CANCEL, *invite.Recipient.Clone())
	c.AppendHeader(gosip.HeaderClone(invite.Via()))
	c.AppendHeader(gosip.HeaderClone(invite.From()))
	c.AppendHeader(gosip.HeaderClone(invite.To()))
	c.AppendHeader(gosip.HeaderClone(invite.CallID()))
	c.AppendHeader(&gosip.CSeqHeader{SeqNo: invite.CSeq().SeqNo, MethodName: gosip.CANCEL})
	mf := gosip.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	if reason != nil {
		c.AppendHeader(gosip.NewHeader("Reason", reason.Value()))
	}
	for _, h := range extra {
		c.AppendHeader(h)
	}
	c.SetTransport(invite.Transport())
	c.SetDestination(invite.Destination())
	c.Laddr = invite.Laddr
	clTx, err := cli.TransactionRequest(ctx, c, func(*sipgo.Client, *gosip.Request) error { return nil })
	if err != nil {
		return err
	}
	defer clTx.Terminate()
	select {
	case <-clTx.Responses():
		return nil
	case <-clTx.Done():
		return clTx.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// onAck takes ACKs for the Call Park application's own answers, and passes on ACKs for
// other dialogs when a phone sends them through the pool.
func (rt *runtime) onAck(req *gosip.Request, tx gosip.ServerTransaction) {
	if err := rt.cps.ReadAck(req, tx); err == nil {
		return
	}
	if rt.isMe(req.Recipient) {
		return
	}
	out := req.Clone()
	out.SetDestination(req.Recipient.HostPort())
	out.Laddr = rt.laddr
	out.SetTransport("UDP")
	if err := rt.cli.WriteRequest(out, sipgo.ClientRequestAddVia); err != nil {
		rt.pool.log.Debug("ACK not passed on", "call_id", callID(req), "err", err)
	}
}

// onInDialog handles BYE and other in-dialog requests: the Call Park application's legs
// first; otherwise, when a phone sends a request through the pool, it is passed on to
// its Request-URI (pools do not Record-Route, so this is rare).
func (rt *runtime) onInDialog(req *gosip.Request, tx gosip.ServerTransaction) {
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
		rt.respond(tx, req, &topology.Rejection{Code: 481, Reason: "Call/Transaction Does Not Exist",
			Warning: "no such dialog on " + rt.pool.fqdn})
		return
	}
	out := req.Clone()
	out.SetDestination(req.Recipient.HostPort())
	out.Laddr = rt.laddr
	out.SetTransport("UDP")
	ctx, cancel := context.WithTimeout(rt.ctx, 32*time.Second)
	defer cancel()
	clTx, err := rt.cli.TransactionRequest(ctx, out, sipgo.ClientRequestAddVia, sipgo.ClientRequestDecreaseMaxForward)
	if err != nil {
		rt.respond(tx, req, &topology.Rejection{Code: 503, Reason: "Service Unavailable", Warning: err.Error()})
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
			rt.respond(tx, req, &topology.Rejection{Code: 408, Reason: "Request Timeout"})
			return
		case <-tx.Done():
			return
		}
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
	up.RemoveHeader("Via")
	up.SetDestination(req.Source())
	up.SetTransport(req.Transport())
	return up
}
