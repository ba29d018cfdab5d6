package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/pickup"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// A pickup of a call another pool rings: the owner of the queue hands the picker's INVITE
// over to the pool that holds the caller's transaction, with a Replaces header naming the
// ringing (early) dialog, as RFC 3891 section 1 describes for call pickup. That pool answers
// the caller towards the picker and CANCELs the callee, exactly as for a call of its own
// queue; the picker's dialog is then with that pool's Call Park application. If the call is
// gone there (481), the owner tries the group's next call.

// handOver passes the picker's INVITE to call's holder and relays its answer. It reports
// false when the call is gone there, so the next call of the group is tried; true when the
// pickup is over either way (answered, refused, or the picker hung up).
func (rt *runtime) handOver(req *gosip.Request, tx gosip.ServerTransaction, picker topology.Caller, call pickup.Call) bool {
	holder, ok := rt.pool.dep.peer(call.Holder)
	rt.mu.Lock()
	d := rt.heldDialogs[call.ID]
	delete(rt.heldDialogs, call.ID)
	rt.mu.Unlock()
	if !ok || !holder.up {
		return false
	}
	host, port, _ := net.SplitHostPort(holder.addr)
	pn, _ := strconv.Atoi(port)
	out := req.Clone()
	out.Recipient = gosip.Uri{Scheme: "sip", User: call.Callee, Host: host, Port: pn}
	out.SetDestination(holder.addr)
	out.SetTransport("UDP")
	out.Laddr = rt.laddr
	for out.RemoveHeader("Replaces") {
	}
	for out.RemoveHeader(lync.HeaderAssertedIdentity) {
	}
	out.AppendHeader(gosip.NewHeader("Replaces", fmt.Sprintf("%s;to-tag=%s;from-tag=%s;early-only", call.ID, d.LocalTag, d.RemoteTag)))
	out.AppendHeader(gosip.NewHeader(lync.HeaderAssertedIdentity, fmt.Sprintf("<sip:%s@%s>", picker.User, rt.pool.dep.Domain())))

	ctx, cancel := context.WithTimeout(rt.ctx, 32*time.Second)
	defer cancel()
	clTx, err := rt.cli.TransactionRequest(ctx, out, sipgo.ClientRequestAddVia, sipgo.ClientRequestDecreaseMaxForward)
	if err != nil {
		return false
	}
	relaying := false // an answered handover's branch stays open for 2xx retransmissions
	defer func() {
		if !relaying {
			clTx.Terminate()
		}
	}()
	defer rt.forgetCancel(out)
	var cancelOnce sync.Once
	tx.OnCancel(func(c *gosip.Request) {
		cancelOnce.Do(func() {
			if rt.claimCancel(out) {
				go rt.sendCancel(out, c.GetHeader("Reason"), nil)
			}
		})
	})
	rt.log("pickup handed over", req, "holder", call.Holder, "call", call.ID, "picker", picker.User)
	for {
		select {
		case res := <-clTx.Responses():
			switch {
			case res.StatusCode == 100:
				continue
			case res.StatusCode == 481 && tx.Err() == nil:
				return false // gone there: the next call
			}
			tx.Respond(upstream(req, res))
			if res.StatusCode >= 200 {
				// The holder's Call Park application retransmits its 2xx until the picker's
				// ACK arrives; this pool is a proxy on that path and must pass them on, or
				// one lost 2xx leaves the pickup unanswered at the picker (proxy_retransmit.go).
				relaying = res.IsSuccess() && rt.relay2xxRetransmissions(req, clTx)
				return true
			}
		case <-clTx.Done():
			return tx.Err() != nil
		case <-tx.Done():
			cancelOnce.Do(func() {
				if rt.claimCancel(out) {
					go rt.sendCancel(out, nil, nil)
				}
			})
			rt.drain(clTx)
			return true
		case <-rt.ctx.Done():
			return true
		}
	}
}

// pickUpReplaced is the holder's side: an INVITE with Replaces names a call this pool
// rings (taken out of the ringing calls by ringingNamed): a pickup the queue's pool hands
// over, or a directed pickup by Replaces (pickup_directed.go), from a phone or through the
// picker's pool. The picker is admitted as for any directed pickup, then answered as for a
// call of this pool's own queue.
func (rt *runtime) pickUpReplaced(req *gosip.Request, tx gosip.ServerTransaction, rc *ringingCall, restore func(), fromPeer bool) {
	picker, ok := rt.pickerOf(req, tx, fromPeer)
	if !ok {
		restore()
		return // challenged
	}
	if rej := rt.pool.dep.admitDirectedPickup(picker, rc.callee, rc.private); rej != nil {
		restore()
		rt.respond(tx, req, rej)
		return
	}
	pl, err := rt.readPicker(req, tx)
	if err != nil {
		restore()
		return
	}
	var refusal refused
	switch err := rt.takeOver(pl, req, picker.User, rc); {
	case err == nil:
		rt.log("picked up by Replaces", req, "picker", picker.User, "caller", rc.caller, "callee", rc.callee, "queue", rc.q.Owner)
	case errors.As(err, &refusal):
		restore()
		rt.respond(tx, req, refusal.r)
	case errors.Is(err, errPickerGone):
		restore()
	default:
		rt.respond(tx, req, topology.NoRingingCall(siputil.CallID(rc.req)))
	}
	if pl.leg.LoadState() < gosip.DialogStateEstablished {
		pl.leg.Close()
	}
}

// names reports whether the tags of a Replaces header name rc's ringing dialog: the
// caller's From tag always, the callee's To tag when the holder has one.
func (rc *ringingCall) names(fromTag, toTag string) bool {
	callerTag, _ := rc.req.From().Params.Get("tag")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return fromTag == callerTag && (rc.calleeTag == "" || toTag == rc.calleeTag)
}

// parseReplaces reads "call-id;to-tag=x;from-tag=y;early-only" (RFC 3891 section 6.1).
func parseReplaces(v string) (callID, fromTag, toTag string) {
	parts := strings.Split(v, ";")
	callID = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "from-tag":
			fromTag = val
		case "to-tag":
			toTag = val
		}
	}
	return callID, fromTag, toTag
}
