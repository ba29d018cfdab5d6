package sip

import (
	"context"
	"fmt"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/pickup"
	"github.com/pickupsim/pickupsim/sip/media"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// ringingCall is a forwarded INVITE waiting in a Group Call Pickup queue: the caller's
// transaction, which the Call Park application answers if someone picks the call up.
type ringingCall struct {
	req    *gosip.Request
	tx     gosip.ServerTransaction
	picked chan pickRequest
}

// pickRequest hands a ringing call to the picker: the relay goroutine that owns the
// caller's transaction cancels the callee and answers the caller.
type pickRequest struct {
	picker       string
	pickerLeg    *sipgo.DialogServerSession
	callerAnswer []byte        // SDP for the caller: the picker's media
	ready        chan struct{} // closed when the caller's leg is bridged
}

// pickUp answers a call to a group pickup number (SPEC section 3): the call ringing
// longest in the group is answered by the picker, the original callee's ringing is
// cancelled with "Call completed elsewhere".
func (rt *runtime) pickUp(req *gosip.Request, tx gosip.ServerTransaction, picker topology.Caller, number string) {
	rt.mu.Lock()
	call, ok := rt.queues.Take(number, picker.User)
	var rc *ringingCall
	if ok {
		rc = rt.ringing[call.ID]
		delete(rt.ringing, call.ID)
	}
	rt.mu.Unlock()
	if !ok || rc == nil {
		rt.respond(tx, req, topology.NothingToPickUp(number))
		return
	}
	callerAnswer, err1 := media.Bridge(rc.req.Body(), req.Body(), uint64(time.Now().UnixNano()))
	pickerAnswer, err2 := media.Bridge(req.Body(), rc.req.Body(), uint64(time.Now().UnixNano()))
	if err1 != nil || err2 != nil {
		rt.requeue(call, rc)
		rt.respond(tx, req, &topology.Rejection{Code: 488, Reason: "Not Acceptable Here",
			Warning: fmt.Sprintf("the picker's media offer does not match the caller's: %v", firstErr(err1, err2))})
		return
	}
	leg, err := rt.cps.ReadInvite(req, tx)
	if err != nil {
		rt.requeue(call, rc)
		rt.pool.log.Warn("pickup: cannot read picker INVITE", "err", err)
		return
	}
	pr := pickRequest{picker: picker.User, pickerLeg: leg, callerAnswer: callerAnswer, ready: make(chan struct{})}
	rc.picked <- pr
	select {
	case <-pr.ready:
	case <-time.After(5 * time.Second):
		rt.respond(tx, req, &topology.Rejection{Code: 500, Reason: "Server Internal Error", Diagnostic: topology.DiagGeneralError,
			Warning: "the picked-up call could not be answered"})
		return
	}
	rt.log("picked up", req, "picker", picker.User, "caller", call.Caller, "callee", call.Callee, "number", number)
	err = leg.Respond(200, "OK", pickerAnswer, append([]gosip.Header{
		gosip.NewHeader("Content-Type", "application/sdp"),
		gosip.NewHeader(HeaderAssertedIdentity, rt.identityOf(call.Caller))}, rt.sessionTimerOffer(req, pickerAnswer)...)...)
	if err != nil {
		rt.pool.log.Warn("pickup: picker leg not confirmed", "err", err)
	}
}

func (rt *runtime) requeue(call pickup.Call, rc *ringingCall) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.queues.Add(call) == nil {
		rt.ringing[call.ID] = rc
	}
}

// identityOf renders a queued caller (a user name or an outside address) as an address.
func (rt *runtime) identityOf(who string) string {
	if _, ok := rt.pool.net.userExists(who); ok {
		return fmt.Sprintf("<sip:%s@%s>", who, rt.pool.net.domain)
	}
	return "<" + who + ">"
}

// completeElsewhere cancels the callee's ringing branch of a picked-up call, telling it
// why and who answered, then waits for the branch to end in the background.
func (rt *runtime) completeElsewhere(out *gosip.Request, clTx gosip.ClientTransaction, pr pickRequest) {
	reason := gosip.NewHeader("Reason", CompletedElsewhere)
	by := gosip.NewHeader(HeaderPickedUpBy, fmt.Sprintf("<sip:%s@%s>", pr.picker, rt.pool.net.domain))
	go rt.cancelBranch(out, reason, []gosip.Header{by})
	go func() {
		defer clTx.Terminate()
		timeout := time.NewTimer(32 * time.Second)
		defer timeout.Stop()
		for {
			select {
			case res := <-clTx.Responses():
				if res.IsSuccess() {
					// The callee answered as the CANCEL crossed its 200: end its leg.
					rt.hangUpLate(out, res)
					return
				}
				if res.StatusCode >= 200 {
					return
				}
			case <-clTx.Done():
				return
			case <-timeout.C:
				return
			case <-rt.ctx.Done():
				return
			}
		}
	}()
}

// answerPickedCall answers the caller's ringing INVITE on behalf of the picker.
func (rt *runtime) answerPickedCall(req *gosip.Request, tx gosip.ServerTransaction, pr pickRequest) {
	leg, err := rt.cps.ReadInvite(req, tx)
	if err != nil {
		close(pr.ready)
		rt.pool.log.Warn("pickup: caller leg gone", "call_id", callID(req), "err", err)
		go rt.byeLeg(pr.pickerLeg)
		return
	}
	rt.connectLegs(leg, callID(req), pr.pickerLeg, callID(pr.pickerLeg.InviteRequest))
	close(pr.ready)
	err = leg.Respond(200, "OK", pr.callerAnswer, append([]gosip.Header{
		gosip.NewHeader("Content-Type", "application/sdp"),
		gosip.NewHeader(HeaderAssertedIdentity, fmt.Sprintf("<sip:%s@%s>", pr.picker, rt.pool.net.domain))}, rt.sessionTimerOffer(req, pr.callerAnswer)...)...)
	if err != nil {
		rt.pool.log.Warn("pickup: caller leg not confirmed", "call_id", callID(req), "err", err)
	}
}

// hangUpLate acknowledges and ends a 2xx that crossed our CANCEL (RFC 3261 15: the UAC
// must ACK and may then BYE).
func (rt *runtime) hangUpLate(out *gosip.Request, res *gosip.Response) {
	contact := res.Contact()
	if contact == nil {
		return
	}
	build := func(m gosip.RequestMethod, seq uint32) *gosip.Request {
		r := gosip.NewRequest(m, *contact.Address.Clone())
		r.AppendHeader(gosip.HeaderClone(out.From()))
		r.AppendHeader(gosip.HeaderClone(res.To()))
		r.AppendHeader(gosip.HeaderClone(out.CallID()))
		r.AppendHeader(&gosip.CSeqHeader{SeqNo: seq, MethodName: m})
		mf := gosip.MaxForwardsHeader(70)
		r.AppendHeader(&mf)
		r.SetDestination(contact.Address.HostPort())
		r.SetTransport(out.Transport())
		r.Laddr = rt.laddr
		return r
	}
	seq := out.CSeq().SeqNo
	if err := rt.cli.WriteRequest(build(gosip.ACK, seq), sipgo.ClientRequestAddVia); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(rt.ctx, transactionTimeout())
	defer cancel()
	rt.cli.Do(ctx, build(gosip.BYE, seq+1), sipgo.ClientRequestAddVia)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
