package phone

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/media"
)

// Dial places a call to target (a user name, a group pickup number or an orbit) through
// the phone's registrar. It returns at once; follow the call with WaitState.
func (ph *Phone) Dial(target string) (*Call, error) {
	proxy := ph.OutboundProxy()
	if proxy == "" {
		return nil, fmt.Errorf("%s: no registrar to send the call to", ph.user)
	}
	return ph.DialURI(gosip.Uri{Scheme: "sip", User: target, Host: ph.domain}, proxy)
}

// DialURI calls a full Request-URI, sending the INVITE to dest with extra headers: what
// Dial does, and how tests place a call a phone's dial plan would not (another domain, a
// pool's address, a hostile Replaces).
func (ph *Phone) DialURI(target gosip.Uri, dest string, extra ...gosip.Header) (*Call, error) {
	callID := ph.ids.CallID("call")
	stream, err := ph.newStream(callID)
	if err != nil {
		return nil, err
	}
	aor := gosip.Uri{Scheme: "sip", User: ph.user, Host: ph.domain}
	req := gosip.NewRequest(gosip.INVITE, target)
	req.AppendHeader(&gosip.FromHeader{DisplayName: ph.user, Address: aor, Params: gosip.HeaderParams{{K: "tag", V: ph.ids.Tag("call")}}})
	req.AppendHeader(&gosip.ToHeader{Address: target})
	cid := gosip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: ph.ids.CSeq(callID), MethodName: gosip.INVITE})
	for _, h := range extra {
		req.AppendHeader(h)
	}
	// Reliable ringing (RFC 3262) and session timers (RFC 4028): what a desk phone offers.
	req.AppendHeader(gosip.NewHeader("Supported", phoneSupported))
	req.AppendHeader(gosip.NewHeader("Allow", phoneAllow))
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(media.Offer(stream.LocalAddr(), ph.ids.SDPSession(callID)))
	req.SetDestination(dest)

	// The INVITE transaction lives by its own timers; ctx only ends the wait for its
	// answer, when the network says dest is gone or a CANCEL went unanswered (abort).
	ctx, abort := context.WithCancelCause(context.Background())
	sess, err := ph.dcli.WriteInvite(ctx, req)
	if err != nil {
		abort(nil)
		stream.Close()
		return nil, fmt.Errorf("%s calling %s: %w", ph.user, target.String(), err)
	}
	c := newCall(ph, siputil.CallID(req), true, target.User, stream)
	c.client = sess
	c.abort = abort
	c.stop = func() { ph.cancelInvite(c, req) }
	ph.track(c)
	go ph.await(ctx, c, sess, dest)
	return c, nil
}

// cancelInvite hangs up an outgoing call before it is answered: a CANCEL, sent where the
// INVITE went (sipgo's own goes to the Request-URI's domain, not the outbound proxy), once
// a provisional response shows the INVITE arrived (RFC 3261 §9.1). The INVITE's final
// answer decides what happens: 487 cancels the call, a 2xx that crossed the CANCEL is
// acknowledged and hung up (await). If no final answer comes 64*T1 after the CANCEL, the
// call is given up (§9.1).
func (ph *Phone) cancelInvite(c *Call, invite *gosip.Request) {
	c.mu.Lock()
	send := !c.cancelling && c.provisional
	c.cancelling = true
	c.mu.Unlock()
	if !send {
		return // already cancelling, or await sends it on the first provisional response
	}
	ph.sendInviteCancel(c, invite)
}

func (ph *Phone) sendInviteCancel(c *Call, invite *gosip.Request) {
	// The cause must be sipgo's own, exactly: any other makes sipgo send a CANCEL of its
	// own, to the Request-URI's domain.
	giveUp := time.AfterFunc(siputil.TransactionTimeout(), func() { c.abort(sipgo.WaitAnswerForceCancelErr) })
	c.mu.Lock()
	c.giveUp = giveUp
	c.mu.Unlock()
	go func() {
		_, err := ph.do(context.Background(), invite.Destination(), func(ctx context.Context) (*gosip.Response, error) {
			return nil, siputil.SendCancel(ctx, ph.cli, invite, nil, nil)
		})
		c.releaseHeldAnswer() // a 2xx held for the hang-up (HoldAnswer) crossed this CANCEL
		if errors.Is(err, ErrUnreachable) {
			c.abort(sipgo.WaitAnswerForceCancelErr) // nobody left to answer the INVITE either
		}
	}()
}

// await follows an outgoing INVITE to its end: ringing, answer (ACK, then media), refusal,
// or cancellation.
func (ph *Phone) await(ctx context.Context, c *Call, sess *sipgo.DialogClientSession, dest string) {
	defer close(c.awaited)
	defer c.settled()
	// A dead outbound proxy is learnt from the network, not from Timer B (reach.go).
	probing, heard := context.WithCancel(ctx)
	defer heard()
	go func() {
		if err := ph.probe(probing, dest); err != nil {
			c.mu.Lock()
			c.unreachable = err
			c.mu.Unlock()
			c.abort(sipgo.WaitAnswerForceCancelErr)
		}
	}()
	err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{Username: ph.user, Password: ph.password, OnResponse: func(res *gosip.Response) error {
		heard()
		if res.IsProvisional() {
			ph.provisional(c, sess, res)
		}
		return nil
	}})
	heard()
	if err == nil {
		c.waitHeldAnswer() // HoldAnswer
	}
	var refused *sipgo.ErrDialogResponse
	switch {
	case err == nil:
	case errors.As(err, &refused) && refused.Res.StatusCode == 487 && c.isCancelling():
		c.setState(Cancelled, func(c *Call) { c.cancelReason = "cancelled by caller" })
		return
	case errors.As(err, &refused):
		c.setState(Failed, func(c *Call) { c.outcome = lync.OutcomeOf(refused.Res) })
		return
	case ctx.Err() != nil:
		if u := c.unreachableErr(); u != nil {
			c.setState(Failed, func(c *Call) { c.outcome = unreachableOutcome(u) })
			return
		}
		c.setState(Cancelled, func(c *Call) { c.cancelReason = "cancelled by caller (no final answer to the CANCEL)" })
		return
	default:
		c.setState(Failed, func(c *Call) { c.outcome = lync.Outcome{Code: 408, Reason: "Request Timeout", Warning: err.Error()} })
		return
	}
	if sess.InviteResponse.Contact() == nil { // RFC 3261 12.1.2: nowhere to send the ACK
		c.setState(Failed, func(c *Call) { c.outcome = lync.Outcome{Code: 500, Reason: "Answer without Contact"} })
		return
	}
	// A 2xx is a 2xx, even one that crossed our CANCEL: acknowledge it (RFC 3261 §13.2.2.4)
	// and, if the caller has hung up meanwhile, end the session it opened with a BYE (§15).
	if err := sess.Ack(context.Background()); err != nil {
		c.setState(Failed, func(c *Call) { c.outcome = lync.Outcome{Code: 500, Reason: "ACK not sent", Warning: err.Error()} })
		return
	}
	res := sess.InviteResponse
	if c.isCancelling() {
		c.hangUp(context.Background(), "answered as it was cancelled: acknowledged and hung up")
		return
	}
	remote := lync.UserOf(res.GetHeader(lync.HeaderAssertedIdentity))
	if remote == "" {
		remote = siputil.ToUser(res)
	}
	audio, err := media.ParseAudio(res.Body())
	if err != nil {
		c.setState(Failed, func(c *Call) { c.outcome = lync.Outcome{Code: 488, Reason: "Bad SDP answer", Warning: err.Error()} })
		return
	}
	c.startMedia(audio.Addr, res.Body())
	c.prepareSessionTimer(res, true)
	c.established(sess.InviteRequest.Body(), res.Body(), func(c *Call) { c.remote, c.remoteMedia = remote, audio.Addr })
}

// onInvite rings the phone for a new call.
func (ph *Phone) onInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, tagged := to.Params.Get("tag"); tagged {
			ph.onReInvite(req, tx) // media moved by the Call Park application (park.go)
			return
		}
	}
	swap, replacing := ph.replaces(req) // an INVITE with Replaces (replaces.go)
	if replacing && swap.code != 0 {
		tx.Respond(gosip.NewResponseFromRequest(req, swap.code, replacesRefusals[swap.code], nil))
		return
	}
	offer, err := media.ParseAudio(req.Body())
	if err != nil {
		tx.Respond(gosip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	stream, err := ph.newStream(siputil.CallID(req))
	if err != nil {
		tx.Respond(gosip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
		return
	}
	from := lync.UserOf(req.GetHeader(lync.HeaderAssertedIdentity))
	if from == "" {
		from = siputil.FromUser(req)
	}
	c := newCall(ph, siputil.CallID(req), false, from, stream)
	tx.OnCancel(func(r *gosip.Request) {
		c.mu.Lock()
		if h := r.GetHeader("Reason"); h != nil {
			c.cancelReason = h.Value()
		}
		c.pickedUpBy = lync.UserOf(r.GetHeader(lync.HeaderPickedUpBy))
		c.mu.Unlock()
	})
	sess, err := ph.dsrv.ReadInvite(req, tx)
	if err != nil {
		stream.Close()
		return
	}
	defer sess.Close()
	c.server = sess
	c.remote = from
	ph.track(c)
	// Ringing before the 180 leaves: whoever hears it may answer at once.
	c.setState(Ringing, nil)
	ringing := ph.ringing(c, sess)
	if err := sess.WriteResponse(ringing); err != nil {
		c.setState(Cancelled, nil)
		return
	}
	select {
	case ph.incoming <- c:
	default:
	}
	ph.mu.Lock()
	auto := ph.autoAnswer
	ph.mu.Unlock()
	switch {
	case replacing:
		ph.takeOver(c, swap.old)
	case auto:
		c.decide(answerChoice{code: 200})
	}
	// A reliable 180 (RFC 3262) is sent again, T1 doubling, until its PRACK arrives.
	resend, stopResend := ph.reliableRetransmits(c)
	defer stopResend()
	for {
		select {
		case choice := <-c.decided:
			stopResend()
			ph.answer(c, sess, offer, choice)
			return
		case <-resend:
			sess.WriteResponse(ringing)
		case <-sess.Context().Done():
			c.setState(Cancelled, func(c *Call) {
				if c.cancelReason == "" {
					c.cancelReason = "cancelled"
				}
			})
			return
		}
	}
}

func (ph *Phone) answer(c *Call, sess *sipgo.DialogServerSession, offer media.Audio, choice answerChoice) {
	if choice.code != 200 {
		sess.Respond(choice.code, choice.reason, nil)
		c.setState(Failed, func(c *Call) { c.outcome = lync.Outcome{Code: choice.code, Reason: choice.reason} })
		return
	}
	answer, err := media.Answer(sess.InviteRequest.Body(), c.Media.LocalAddr(), ph.ids.SDPSession(c.ID, "answer"))
	if err != nil {
		sess.Respond(488, "Not Acceptable Here", nil)
		c.setState(Failed, func(c *Call) {
			c.outcome = lync.Outcome{Code: 488, Reason: "Not Acceptable Here", Warning: err.Error()}
		})
		return
	}
	c.startMedia(offer.Addr, answer)
	res := gosip.NewSDPResponseFromRequest(sess.InviteRequest, answer)
	c.answerSessionTimer(sess.InviteRequest, res) // RFC 4028 §9 (call_session_timer.go)
	if err := sess.WriteResponse(res); err != nil {
		c.setState(Cancelled, func(c *Call) {
			if c.cancelReason == "" {
				c.cancelReason = "answer not acknowledged: " + err.Error()
			}
		})
		return
	}
	c.established(sess.InviteRequest.Body(), answer, func(c *Call) { c.remoteMedia = offer.Addr })
}

// errNoSuchCall answers a BYE for a call the phone does not know.
var errNoSuchCall = errors.New("no such call")

// onBye ends an established call hung up by the other side.
func (ph *Phone) onBye(req *gosip.Request, tx gosip.ServerTransaction) {
	c := ph.call(siputil.CallID(req))
	var err error
	end := func() {
		c.setState(Ended, func(c *Call) { c.endedBy, c.endReason = "remote", "hung up by the other party" })
	}
	// The call ends, its timers with it, before the 200 goes: whoever sees the BYE
	// answered (a replay about to fire the next timer) finds the call over.
	ending := endingTx{ServerTransaction: tx, end: end}
	switch {
	case c == nil:
		err = errNoSuchCall
	case c.client != nil:
		err = c.client.ReadBye(req, ending)
	default:
		err = c.server.ReadBye(req, ending)
	}
	if err != nil {
		tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	end()
}

// endingTx runs end before it sends a 2xx.
type endingTx struct {
	gosip.ServerTransaction
	end func()
}

func (e endingTx) Respond(res *gosip.Response) error {
	if res.IsSuccess() {
		e.end()
	}
	return e.ServerTransaction.Respond(res)
}
