package sip

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/pickup"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/media"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// ringingCall is a forwarded INVITE that rings a member of a Group Call Pickup group: the
// caller's transaction, which the Call Park application answers if someone picks the call
// up. It is queued at this pool's Call Park application when this pool owns the group's
// range, or reported to the owner's (pickup_report.go).
type ringingCall struct {
	req    *gosip.Request
	tx     gosip.ServerTransaction
	caller string // the caller's user name, or its address when outside the enterprise
	callee string
	q      topology.QueueDecision // zero for a call to a user in no group (directed pickup only)
	// since is when it started ringing; private: it is to the callee's private line.
	since   time.Time
	private bool
	// picked hands the call to a picker. It is unbuffered: a send succeeds only when the
	// goroutine that owns the caller's transaction (forward) takes the pickup on.
	picked chan pickRequest
	// done is closed when forward has finished with the call: no pickup can take it now.
	done chan struct{}

	mu        sync.Mutex
	calleeTag string // the To tag of the callee's first provisional response
	reported  bool   // the owner was told the call rings (early)
}

func newRingingCall(req *gosip.Request, tx gosip.ServerTransaction, caller, callee string, q topology.QueueDecision, since time.Time, private bool) *ringingCall {
	return &ringingCall{req: req, tx: tx, caller: caller, callee: callee, q: q, since: since, private: private,
		picked: make(chan pickRequest), done: make(chan struct{})}
}

// pickRequest hands a ringing call to the picker: the relay goroutine that owns the
// caller's transaction cancels the callee and answers the caller.
type pickRequest struct {
	picker       string
	pickerLeg    *sipgo.DialogServerSession
	callerAnswer []byte // SDP for the caller: the picker's media
	// result tells the picker's side how the caller's answer went: the bridge, once the
	// caller's 200 is out, or why the call could not be answered.
	result chan pickResult
}

type pickResult struct {
	br  *bridge
	err error
}

// Why a pickup attempt did not connect the picker.
var (
	// errCallGone: the call ended before it could be answered (its caller hung up, or it
	// was answered): the next call of the group is tried.
	errCallGone = errors.New("the call ended as it was being picked up")
	// errPickerGone: the picker hung up before it was answered.
	errPickerGone = errors.New("the picker hung up")
)

// pickUp answers a call to a group pickup number (SPEC section 3): the call ringing
// longest in the group is answered by the picker, the original callee's ringing is
// cancelled with "Call completed elsewhere". A call that ends as it is being picked up is
// skipped for the next one; a call another pool rings is handed over to that pool
// (pickup_remote.go).
func (rt *runtime) pickUp(req *gosip.Request, tx gosip.ServerTransaction, picker topology.Caller, number string) {
	var pl *pickerLeg
	defer func() {
		if pl != nil && pl.leg.LoadState() < gosip.DialogStateEstablished {
			pl.leg.Close()
		}
	}()
	lost := false
	named := replacedCallID(req) // a pickup from the group's busy lamp names its call (pickup_directed.go)
	for {
		rt.mu.Lock()
		call, ok := rt.takeQueued(number, picker.User, named)
		rc := rt.ringing[call.ID]
		if ok && call.Holder == "" {
			delete(rt.ringing, call.ID)
		}
		blocked := rt.queues.BlockedCalls(number)
		rt.mu.Unlock()
		if !ok && named != "" && !lost {
			rt.respond(tx, req, topology.NoRingingCall(named)) // RFC 3891 section 3
			return
		}
		switch {
		case !ok && lost && len(blocked) == 0:
			rt.respond(tx, req, topology.PickedCallGone(number))
			return
		case !ok:
			rt.respond(tx, req, topology.NothingPickable(number, blocked))
			return
		case call.Holder != "":
			if pl != nil {
				pl.leg.Close() // the holder answers the picker, not this pool
				pl = nil
			}
			if rt.handOver(req, tx, picker, call) {
				return
			}
			lost = true
			continue
		case rc == nil:
			lost = true
			continue
		}
		if pl == nil {
			var err error
			if pl, err = rt.readPicker(req, tx); err != nil {
				rt.requeue(call, rc)
				rt.pool.log.Warn("pickup: cannot read picker INVITE", "err", err)
				return
			}
		}
		err := rt.takeOver(pl, req, picker.User, rc)
		var refusal refused
		switch {
		case err == nil:
			rt.log("picked up", req, "picker", picker.User, "caller", call.Caller, "callee", call.Callee, "number", number)
			return
		case errors.Is(err, errCallGone):
			lost = true
			continue
		case errors.Is(err, errPickerGone):
			rt.requeue(call, rc)
			return
		case errors.As(err, &refusal):
			rt.requeue(call, rc)
			rt.respond(tx, req, refusal.r)
			return
		}
	}
}

// refused is a pickup attempt that ends in a refusal for the picker.
type refused struct{ r *topology.Rejection }

func (e refused) Error() string { return fmt.Sprintf("%d %s: %s", e.r.Code, e.r.Reason, e.r.Warning) }

// pickerLeg is the picker's INVITE as the Call Park application's UAS session, with a view
// of whether its 2xx left.
type pickerLeg struct {
	leg  *sipgo.DialogServerSession
	sent *sentTx
}

func (rt *runtime) readPicker(req *gosip.Request, tx gosip.ServerTransaction) (*pickerLeg, error) {
	st := newSentTx(tx)
	leg, err := rt.cps.ReadInvite(req, st)
	if err != nil {
		return nil, err
	}
	return &pickerLeg{leg: leg, sent: st}, nil
}

// takeOver answers ringing call rc, held by this pool, for the picker. The caller is
// answered first, by the goroutine that owns its transaction; the picker only once the
// caller's 200 is out, so that a caller who CANCELs as the pickup answers leaves no picker
// connected to nobody (RFC 3261 9.2: a CANCEL that wins gets the INVITE a 487; one that
// loses changes nothing, and the caller's phone BYEs the 200 it then gets, which the bridge
// passes on).
func (rt *runtime) takeOver(pl *pickerLeg, req *gosip.Request, picker string, rc *ringingCall) error {
	g := rt.pool.ids
	callerAnswer, err1 := media.Bridge(rc.req.Body(), req.Body(), g.SDPSession(siputil.CallID(rc.req), "pickup"))
	pickerAnswer, err2 := media.Bridge(req.Body(), rc.req.Body(), g.SDPSession(siputil.CallID(req), "pickup"))
	if err1 != nil || err2 != nil {
		return refused{topology.MediaMismatch(firstErr(err1, err2))}
	}
	pr := pickRequest{picker: picker, pickerLeg: pl.leg, callerAnswer: callerAnswer, result: make(chan pickResult, 1)}
	select {
	case rc.picked <- pr:
	case <-rc.done:
		return errCallGone
	case <-pl.leg.Context().Done():
		return errPickerGone
	}
	var res pickResult
	select {
	case res = <-pr.result:
	case <-rc.done:
		select {
		case res = <-pr.result:
		default:
			return errCallGone
		}
	}
	if res.err != nil {
		return res.err
	}
	br := res.br
	call(rt.pool.dep.hooks().beforePickerAnswer, siputil.CallID(rc.req), siputil.CallID(req))
	if !rt.answerPending(br) {
		return errCallGone // the caller hung up before the picker was answered
	}
	answered := make(chan error, 1)
	go func() {
		answered <- pl.leg.Respond(200, "OK", pickerAnswer, append([]gosip.Header{
			gosip.NewHeader("Content-Type", "application/sdp"),
			gosip.NewHeader(lync.HeaderAssertedIdentity, rt.identityOf(rc.caller))}, rt.sessionTimerOffer(req, pickerAnswer)...)...)
	}()
	if err := pl.sent.wait(answered); err != nil {
		// The picker hung up before its 200 could leave: the caller, answered, is hung up.
		rt.endBridge(br, pl.leg, "the picker hung up as the pickup answered")
		return nil
	}
	rt.watchAck(br, pl.leg, answered, "the picker never acknowledged its answer")
	call(rt.pool.dep.hooks().afterPickerAnswer, siputil.CallID(rc.req), siputil.CallID(req))
	return nil
}

// requeue puts a call back in its queue after a pickup that did not take it, unless its
// ringing ended meanwhile (checked under the lock leaveQueue takes after the end).
func (rt *runtime) requeue(call pickup.Call, rc *ringingCall) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	select {
	case <-rc.done:
		return
	default:
	}
	if rt.queues.Add(call) == nil {
		rt.ringing[call.ID] = rc
	}
}

// identityOf renders a queued caller (a user name or an outside address) as an address.
func (rt *runtime) identityOf(who string) string {
	if _, ok := rt.pool.dep.User(who); ok {
		return fmt.Sprintf("<sip:%s@%s>", who, rt.pool.dep.Domain())
	}
	return "<" + who + ">"
}

// completeElsewhere cancels the callee's ringing branch of a picked-up call, telling it
// why and who answered, then waits for the branch to end in the background.
func (rt *runtime) completeElsewhere(out *gosip.Request, clTx gosip.ClientTransaction, pr pickRequest) {
	reason := gosip.NewHeader("Reason", lync.CompletedElsewhere)
	by := gosip.NewHeader(lync.HeaderPickedUpBy, fmt.Sprintf("<sip:%s@%s>", pr.picker, rt.pool.dep.Domain()))
	if rt.claimCancel(out) {
		rt.pool.sendOnOwn(func() { rt.sendCancel(out, reason, []gosip.Header{by}) }) // Pool.OwnSends
	}
	go func() {
		defer rt.forgetCancel(out)
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

// answerPickedCall answers the caller's ringing INVITE on behalf of the picker, and tells
// the picker's side on pr.result whether the 200 left (then the call is bridged) or the
// caller's CANCEL won.
func (rt *runtime) answerPickedCall(req *gosip.Request, tx gosip.ServerTransaction, pr pickRequest) {
	st := newSentTx(tx)
	st.ended = func() {
		call(rt.pool.dep.hooks().callerTxEnded, siputil.CallID(req), siputil.CallID(pr.pickerLeg.InviteRequest))
	}
	leg, err := rt.cps.ReadInvite(req, st)
	if err != nil {
		pr.result <- pickResult{err: fmt.Errorf("%w: %v", errCallGone, err)}
		rt.pool.log.Info("pickup: caller leg gone", "call_id", siputil.CallID(req), "err", err)
		return
	}
	call(rt.pool.dep.hooks().beforeCallerAnswer, siputil.CallID(req), siputil.CallID(pr.pickerLeg.InviteRequest))
	br := rt.connectPickup(leg, siputil.CallID(req), pr.pickerLeg, siputil.CallID(pr.pickerLeg.InviteRequest))
	answered := make(chan error, 1)
	go func() {
		answered <- leg.Respond(200, "OK", pr.callerAnswer, append([]gosip.Header{
			gosip.NewHeader("Content-Type", "application/sdp"),
			gosip.NewHeader(lync.HeaderAssertedIdentity, fmt.Sprintf("<sip:%s@%s>", pr.picker, rt.pool.dep.Domain()))}, rt.sessionTimerOffer(req, pr.callerAnswer)...)...)
	}()
	if err := st.wait(answered); err != nil {
		rt.dropBridge(br)
		rt.pool.log.Info("pickup: the caller hung up as the pickup answered", "call_id", siputil.CallID(req), "err", err)
		pr.result <- pickResult{err: fmt.Errorf("%w: %v", errCallGone, err)}
		return
	}
	rt.watchAck(br, leg, answered, "the caller never acknowledged its answer")
	pr.result <- pickResult{br: br}
}

// watchAck ends a bridged call whose leg l was answered but never acknowledged: after
// Timer H on the injected clock (with a grace of T1 for an ACK in flight), or when sipgo
// gives up retransmitting the 2xx, whichever comes first.
func (rt *runtime) watchAck(br *bridge, l *sipgo.DialogServerSession, answered <-chan error, why string) {
	confirmed := make(chan struct{})
	var once sync.Once
	l.OnState(func(s gosip.DialogState) {
		if s >= gosip.DialogStateConfirmed {
			once.Do(func() { close(confirmed) })
		}
	})
	if l.LoadState() >= gosip.DialogStateConfirmed {
		once.Do(func() { close(confirmed) })
	}
	expired := func() {
		grace := time.NewTimer(gosip.T1)
		defer grace.Stop()
		select {
		case <-confirmed:
		case <-grace.C:
			rt.endBridge(br, l, why)
		case <-rt.ctx.Done():
		}
	}
	t := rt.pool.dep.Clock().AfterFunc(timerH, func() { go expired() })
	go func() {
		err := <-answered
		select {
		case <-confirmed:
			t.Stop()
			return
		default:
		}
		if err != nil {
			t.Stop()
			rt.endBridge(br, l, why)
		}
	}()
}

// sentTx is a server transaction that reports whether the 2xx given to it left. sipgo's
// INVITE transaction refuses a 2xx once a CANCEL has won (the INVITE then got 487), and once
// a 2xx has left a CANCEL changes nothing: its first 2xx's fate says which of two crossing
// requests won, without a lock of ours around the transaction.
type sentTx struct {
	gosip.ServerTransaction
	once  sync.Once
	sent  chan error
	ended func() // after Terminate (testHooks.callerTxEnded), when set
}

// Terminate ends the transaction, as sipgo's dialog session does when a BYE comes.
func (s *sentTx) Terminate() {
	s.ServerTransaction.Terminate()
	if s.ended != nil {
		s.ended()
	}
}

func newSentTx(tx gosip.ServerTransaction) *sentTx {
	return &sentTx{ServerTransaction: tx, sent: make(chan error, 1)}
}

// Respond passes res on and, for the first 2xx, reports whether it left.
func (s *sentTx) Respond(res *gosip.Response) error {
	err := s.ServerTransaction.Respond(res)
	if res.IsSuccess() {
		s.once.Do(func() { s.sent <- err })
	}
	return err
}

// wait returns whether the 2xx a dialog session is sending (its Respond's result comes on
// answered) left: nil once it did, the reason it did not otherwise (the session may refuse
// before it reaches the transaction).
func (s *sentTx) wait(answered <-chan error) error {
	select {
	case err := <-s.sent:
		return err
	case err := <-answered:
		select {
		case sent := <-s.sent:
			return sent
		default:
		}
		if err == nil {
			err = errors.New("answer not sent")
		}
		return err
	}
}

// hangUpLate acknowledges and ends a 2xx that crossed our CANCEL (RFC 3261 15: the UAC
// must ACK and may then BYE).
func (rt *runtime) hangUpLate(out *gosip.Request, res *gosip.Response) {
	contact := res.Contact()
	if contact == nil || res.To() == nil || rt.down() { // a hostile 2xx may lack them; a dead pool sends nothing
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
	ctx, cancel := context.WithTimeout(rt.ctx, siputil.TransactionTimeout())
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
