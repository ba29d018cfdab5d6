package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/media"
)

// Dial places a call to target (a user name, a group pickup number or an orbit) through
// the phone's registrar. It returns at once; follow the call with WaitState.
func (ph *Phone) Dial(target string) (*Call, error) {
	proxy := ph.outboundProxy()
	if proxy == "" {
		return nil, fmt.Errorf("%s: no registrar to send the call to", ph.user)
	}
	return ph.dialURI(gosip.Uri{Scheme: "sip", User: target, Host: ph.domain}, proxy)
}

// dialURI calls a full Request-URI, sending the INVITE to dest.
func (ph *Phone) dialURI(target gosip.Uri, dest string, extra ...gosip.Header) (*Call, error) {
	stream, err := newStream(ph.ip)
	if err != nil {
		return nil, err
	}
	aor := gosip.Uri{Scheme: "sip", User: ph.user, Host: ph.domain}
	req := gosip.NewRequest(gosip.INVITE, target)
	req.AppendHeader(&gosip.FromHeader{DisplayName: ph.user, Address: aor, Params: gosip.HeaderParams{{K: "tag", V: gosip.GenerateTagN(10)}}})
	req.AppendHeader(&gosip.ToHeader{Address: target})
	for _, h := range extra {
		req.AppendHeader(h)
	}
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(media.Offer(stream.LocalAddr(), uint64(time.Now().UnixNano())))
	req.SetDestination(dest)

	ctx, stop := context.WithCancel(context.Background())
	sess, err := ph.dcli.WriteInvite(ctx, req)
	if err != nil {
		stop()
		stream.Close()
		return nil, fmt.Errorf("%s calling %s: %w", ph.user, target.String(), err)
	}
	c := newCall(ph, callID(req), true, target.User, stream)
	c.client = sess
	// sipgo's own CANCEL goes to the Request-URI's domain; a phone behind an outbound
	// proxy sends it where the INVITE went.
	c.stop = func() {
		c.mu.Lock()
		c.cancelling = true
		c.mu.Unlock()
		cctx, cancel := context.WithTimeout(context.Background(), ph.timeout)
		defer cancel()
		if err := sendCancel(cctx, ph.cli, req, nil, nil); err != nil {
			stop() // nobody answers the CANCEL: give up on the INVITE
		}
	}
	ph.track(c)
	go ph.await(ctx, c, sess)
	return c, nil
}

// await follows an outgoing INVITE to its end: ringing, answer (ACK, then media), refusal,
// or cancellation.
func (ph *Phone) await(ctx context.Context, c *Call, sess *sipgo.DialogClientSession) {
	err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{Username: ph.user, Password: ph.password, OnResponse: func(res *gosip.Response) error {
		if res.StatusCode >= 180 && res.StatusCode < 200 {
			c.setState(Ringing, nil)
		}
		return nil
	}})
	var refused *sipgo.ErrDialogResponse
	switch {
	case err == nil:
	case errors.As(err, &refused) && refused.Res.StatusCode == 487 && c.isCancelling():
		c.setState(Cancelled, func(c *Call) { c.cancelReason = "cancelled by caller" })
		return
	case errors.As(err, &refused):
		c.setState(Failed, func(c *Call) { c.outcome = outcomeOf(refused.Res) })
		return
	case ctx.Err() != nil:
		c.setState(Cancelled, func(c *Call) { c.cancelReason = "cancelled by caller" })
		return
	default:
		c.setState(Failed, func(c *Call) { c.outcome = Outcome{Code: 408, Reason: "Request Timeout", Warning: err.Error()} })
		return
	}
	if sess.InviteResponse.Contact() == nil { // RFC 3261 12.1.2: nowhere to send the ACK
		c.setState(Failed, func(c *Call) { c.outcome = Outcome{Code: 500, Reason: "Answer without Contact"} })
		return
	}
	ackCtx, cancel := context.WithTimeout(context.Background(), ph.timeout)
	defer cancel()
	if err := sess.Ack(ackCtx); err != nil {
		c.setState(Failed, func(c *Call) { c.outcome = Outcome{Code: 500, Reason: "ACK not sent", Warning: err.Error()} })
		return
	}
	res := sess.InviteResponse
	remote := userOf(res.GetHeader(HeaderAssertedIdentity))
	if remote == "" {
		remote = toUser(res)
	}
	audio, err := media.ParseAudio(res.Body())
	if err != nil {
		c.setState(Failed, func(c *Call) { c.outcome = Outcome{Code: 488, Reason: "Bad SDP answer", Warning: err.Error()} })
		return
	}
	c.startMedia(audio.Addr, res.Body())
	c.setState(Established, func(c *Call) { c.remote, c.remoteMedia = remote, audio.Addr })
}

// onInvite rings the phone for a new call.
func (ph *Phone) onInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, tagged := to.Params.Get("tag"); tagged {
			ph.onReInvite(req, tx) // media moved by the Call Park application (callpark_phone.go)
			return
		}
	}
	offer, err := media.ParseAudio(req.Body())
	if err != nil {
		tx.Respond(gosip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	stream, err := newStream(ph.ip)
	if err != nil {
		tx.Respond(gosip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
		return
	}
	from := userOf(req.GetHeader(HeaderAssertedIdentity))
	if from == "" {
		from = fromUser(req)
	}
	c := newCall(ph, callID(req), false, from, stream)
	tx.OnCancel(func(r *gosip.Request) {
		c.mu.Lock()
		if h := r.GetHeader("Reason"); h != nil {
			c.cancelReason = h.Value()
		}
		c.pickedUpBy = userOf(r.GetHeader(HeaderPickedUpBy))
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
	if err := sess.Respond(180, "Ringing", nil); err != nil {
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
	if auto {
		c.decide(answerChoice{code: 200})
	}
	select {
	case choice := <-c.decided:
		ph.answer(c, sess, offer, choice)
	case <-sess.Context().Done():
		c.setState(Cancelled, func(c *Call) {
			if c.cancelReason == "" {
				c.cancelReason = "cancelled"
			}
		})
	}
}

func (ph *Phone) answer(c *Call, sess *sipgo.DialogServerSession, offer media.Audio, choice answerChoice) {
	if choice.code != 200 {
		sess.Respond(choice.code, choice.reason, nil)
		c.setState(Failed, func(c *Call) { c.outcome = Outcome{Code: choice.code, Reason: choice.reason} })
		return
	}
	answer, err := media.Answer(sess.InviteRequest.Body(), c.Media.LocalAddr(), uint64(time.Now().UnixNano()))
	if err != nil {
		sess.Respond(488, "Not Acceptable Here", nil)
		c.setState(Failed, func(c *Call) { c.outcome = Outcome{Code: 488, Reason: "Not Acceptable Here", Warning: err.Error()} })
		return
	}
	c.startMedia(offer.Addr, answer)
	if err := sess.RespondSDP(answer); err != nil {
		c.setState(Cancelled, func(c *Call) {
			if c.cancelReason == "" {
				c.cancelReason = "answer not acknowledged: " + err.Error()
			}
		})
		return
	}
	c.setState(Established, func(c *Call) { c.remoteMedia = offer.Addr })
}

// errNoSuchCall answers a BYE for a call the phone does not know.
var errNoSuchCall = errors.New("no such call")

// onBye ends an established call hung up by the other side.
func (ph *Phone) onBye(req *gosip.Request, tx gosip.ServerTransaction) {
	c := ph.call(callID(req))
	var err error
	switch {
	case c == nil:
		err = errNoSuchCall
	case c.client != nil:
		err = c.client.ReadBye(req, tx)
	default:
		err = c.server.ReadBye(req, tx)
	}
	if err != nil {
		tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	c.setState(Ended, func(c *Call) { c.endedBy = "remote" })
}
