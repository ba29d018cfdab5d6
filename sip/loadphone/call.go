package loadphone

import (
	"net/netip"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// DefaultRing bounds how long a caller lets a call ring before it cancels it.
const DefaultRing = 2 * time.Minute

// InviteOptions shape a call a phone places.
type InviteOptions struct {
	// SDP is the offer; nil offers the shared sink (no measured media).
	SDP []byte
	// Headers are added to the INVITE (Referred-By, X-Parked-Call, ...).
	Headers []gosip.Header
	// Ringing, when set, runs once at the first 180 or 183.
	Ringing func()
	// Ring bounds the wait for a final answer once the call rings; the caller then
	// cancels it. 0 means DefaultRing.
	Ring time.Duration
	// Cancel, when closed while the call rings, makes the caller cancel it.
	Cancel <-chan struct{}
	// CallID, when set, is the call's Call-ID: pools keep it when they proxy the INVITE,
	// so whoever drives the called phone can tell the call apart. It must be unique.
	CallID string
}

// NotRegistered is the outcome of a call a phone could not place: it has no registrar.
var NotRegistered = local(0, "phone not registered", "", true)

// Invite calls to through the phone's registrar (its outbound proxy) and waits for the
// final answer. On a 2xx it acknowledges and returns the established leg; otherwise the
// leg is nil and the outcome says why. A registrar that does not answer at all makes the
// phone register again (Suspect).
func (ph *Phone) Invite(to gosip.Uri, o InviteOptions) (*Leg, Outcome) {
	pop := ph.pop
	lk, dst, ok := ph.outbound()
	if !ok {
		return nil, NotRegistered
	}
	if o.SDP == nil {
		o.SDP = pop.sinkOffer()
	}
	if o.Ring <= 0 {
		o.Ring = DefaultRing
	}
	if o.CallID == "" {
		o.CallID = gosip.GenerateTagN(20) + "@load"
	}
	l := newLeg(ph, o.CallID, true)
	l.localTag, l.localURI, l.remoteURI, l.localSDP, l.localSeq = newTag(), ph.aor, to, o.SDP, 1
	req := gosip.NewRequest(gosip.INVITE, to)
	req.AppendHeader(&gosip.FromHeader{Address: ph.aor, Params: tagParams(l.localTag)})
	req.AppendHeader(&gosip.ToHeader{Address: to})
	cid := gosip.CallIDHeader(l.id)
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.INVITE})
	req.AppendHeader(ph.contactHeader())
	for _, h := range o.Headers {
		req.AppendHeader(h)
	}
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(o.SDP)
	l.invite = req
	ph.track(l) // before sending: a BYE may follow the 2xx faster than this goroutine
	tx, err := pop.send(req, lk, dst, "")
	if err != nil {
		l.end("not sent")
		return nil, noAnswer(dst, err)
	}
	tx.mu.Lock()
	tx.on2xx = func(*gosip.Response) { l.resendAck() }
	tx.mu.Unlock()
	defer tx.end()

	res, err := tx.next(pop.cfg.RequestTimeout)
	if err != nil {
		l.end("no answer")
		ph.Suspect()
		return nil, noAnswer(dst, err)
	}
	deadline := time.Now().Add(o.Ring)
	rung := false
	for res.StatusCode < 200 {
		if !rung && (res.StatusCode == 180 || res.StatusCode == 183) {
			rung = true
			if o.Ring > 0 && o.Ringing != nil {
				o.Ringing()
			}
		}
		res, err = tx.nextOr(time.Until(deadline), o.Cancel)
		if err != nil {
			return nil, l.cancel(tx, lk, dst)
		}
	}
	out := outcomeOf(res)
	if !res.IsSuccess() {
		l.end("refused")
		return nil, out
	}
	l.confirm(res)
	return l, out
}

// confirm takes a 2xx to the leg's INVITE: the dialog's remote tag and target, and the ACK
// (RFC 3261 13.2.2.4), sent straight to the peer's Contact.
func (l *Leg) confirm(res *gosip.Response) {
	l.mu.Lock()
	if to := res.To(); to != nil {
		l.remoteTag, _ = to.Params.Get("tag")
	}
	l.targetURI = l.remoteURI
	if c := res.Contact(); c != nil {
		l.targetURI = c.Address
		if a, ok := uriAddr(c.Address); ok {
			l.target = a
		}
	}
	l.remoteSDP = res.Body()
	l.mu.Unlock()
	ack := l.ackRequest()
	l.mu.Lock()
	l.ack = encode(ack)
	dst, data := l.target, l.ack
	l.mu.Unlock()
	_ = l.ph.sock.write(data, dst)
	l.establish()
}

// ackRequest builds the ACK of the 2xx: in the dialog, with the INVITE's CSeq number and
// a new branch.
func (l *Leg) ackRequest() *gosip.Request {
	l.mu.Lock()
	target, remoteTag := l.targetURI, l.remoteTag
	l.mu.Unlock()
	ack := gosip.NewRequest(gosip.ACK, target)
	proto, by := l.ph.sock.sentBy()
	via := &gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: proto,
		Host: by.Addr().String(), Port: int(by.Port()), Params: gosip.NewParams()}
	via.Params.Add("branch", gosip.GenerateBranchN(16))
	ack.AppendHeader(via)
	ack.AppendHeader(&gosip.FromHeader{Address: l.localURI, Params: tagParams(l.localTag)})
	to := &gosip.ToHeader{Address: l.remoteURI, Params: gosip.NewParams()}
	to.Params.Add("tag", remoteTag)
	ack.AppendHeader(to)
	cid := gosip.CallIDHeader(l.id)
	ack.AppendHeader(&cid)
	ack.AppendHeader(&gosip.CSeqHeader{SeqNo: l.invite.CSeq().SeqNo, MethodName: gosip.ACK})
	mf := gosip.MaxForwardsHeader(70)
	ack.AppendHeader(&mf)
	ack.SetBody(nil)
	return ack
}

func (l *Leg) resendAck() {
	l.mu.Lock()
	data, dst := l.ack, l.target
	l.mu.Unlock()
	if data != nil {
		_ = l.ph.sock.write(data, dst)
	}
}

// cancel gives up on a ringing call (RFC 3261 9.1): CANCEL where the INVITE went, then the
// INVITE's final answer. A 2xx that crossed the CANCEL is acknowledged and hung up.
func (l *Leg) cancel(tx *clientTx, lk link, dst netip.AddrPort) Outcome {
	pop := l.ph.pop
	inv := l.invite
	c := gosip.NewRequest(gosip.CANCEL, *inv.Recipient.Clone())
	c.AppendHeader(gosip.HeaderClone(inv.From()))
	c.AppendHeader(gosip.HeaderClone(inv.To()))
	c.AppendHeader(gosip.HeaderClone(inv.CallID()))
	c.AppendHeader(&gosip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: gosip.CANCEL})
	c.SetBody(nil)
	branch, _ := inv.Via().Params.Get("branch")
	ctx, err := pop.send(c, lk, dst, branch)
	if err == nil {
		_, _ = ctx.finalAnswer(pop.cfg.RequestTimeout, nil)
		ctx.end()
	}
	res, err := tx.finalAnswer(pop.cfg.RequestTimeout, nil)
	switch {
	case err != nil:
		l.end("cancelled, unanswered")
		return local(487, "Request Terminated", "cancelled by the caller; no answer to the CANCEL", true)
	case res.IsSuccess():
		l.confirm(res)
		l.Bye()
		return local(487, "Request Terminated", "cancelled by the caller as the answer crossed", false)
	}
	l.end("cancelled")
	out := outcomeOf(res)
	out.Warning = "cancelled by the caller after ringing too long"
	return out
}

// Bye hangs up an established leg and returns the answer to the BYE.
func (l *Leg) Bye() Outcome {
	if l.State() == Ended {
		return local(481, "Call/Transaction Does Not Exist", "the call was over: "+l.EndReason(), false)
	}
	req := l.request(gosip.BYE)
	_, out := l.do(req)
	l.end("hung up")
	return out
}
