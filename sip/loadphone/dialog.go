package loadphone

import (
	"errors"
	"net/netip"
	"strings"
	"sync"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
)

// LegState is where one side of a call stands.
type LegState int

// The leg states.
const (
	// Early: the INVITE is on its way or ringing.
	Early LegState = iota
	// Established: answered and acknowledged.
	Established
	// Ended: refused, cancelled or hung up.
	Ended
)

var legStateNames = [...]string{"early", "established", "ended"}

func (s LegState) String() string { return legStateNames[s] }

// Leg is one phone's side of a call: a SIP dialog (RFC 3261 12) and its INVITE.
type Leg struct {
	ph        *Phone
	id        string
	uac       bool
	localTag  string
	localURI  gosip.Uri
	remoteURI gosip.Uri
	invite    *gosip.Request // the INVITE that made the leg (sent or received)

	mu         sync.Mutex
	state      LegState
	remoteTag  string
	target     netip.AddrPort // where in-dialog requests go: the peer's Contact
	targetURI  gosip.Uri
	localSDP   []byte
	remoteSDP  []byte
	localSeq   uint32
	remoteSeq  uint32
	ack        []byte        // UAC: the ACK of the 2xx, sent again if the 2xx is
	inv        *serverInvite // UAS: the INVITE's server transaction
	reinv      *serverInvite // the last re-INVITE received
	reinvSeq   uint32
	lastSeq    uint32 // the last non-INVITE request received, and its answer
	lastMethod gosip.RequestMethod
	lastAnswer []byte
	lastLink   link
	lastDst    netip.AddrPort
	endReason  string
	ended      chan struct{}
	confirmed  chan struct{} // closed when established
	notifies   chan Outcome  // REFER progress (sipfrag) received on this leg
}

func newLeg(ph *Phone, id string, uac bool) *Leg {
	return &Leg{ph: ph, id: id, uac: uac, ended: make(chan struct{}), confirmed: make(chan struct{}), notifies: make(chan Outcome, 4)}
}

// CallID returns the dialog's Call-ID.
func (l *Leg) CallID() string { return l.id }

// Phone returns the phone the leg belongs to.
func (l *Leg) Phone() *Phone { return l.ph }

// Invite returns the INVITE that made the leg.
func (l *Leg) Invite() *gosip.Request { return l.invite }

// Caller returns the user part of the INVITE's From (who calls, as the caller wrote it).
func (l *Leg) Caller() string { return siputil.FromUser(l.invite) }

// State returns where the leg stands.
func (l *Leg) State() LegState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// Done is closed when the leg ends.
func (l *Leg) Done() <-chan struct{} { return l.ended }

// Confirmed is closed when the leg is established.
func (l *Leg) Confirmed() <-chan struct{} { return l.confirmed }

// EndReason says why the leg ended ("" while it has not).
func (l *Leg) EndReason() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.endReason
}

// RemoteSDP returns the peer's last session description.
func (l *Leg) RemoteSDP() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.remoteSDP
}

func (l *Leg) end(reason string) {
	l.mu.Lock()
	if l.state == Ended {
		l.mu.Unlock()
		return
	}
	l.state = Ended
	l.endReason = reason
	close(l.ended)
	l.mu.Unlock()
	l.ph.forget(l)
}

func (l *Leg) establish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == Early {
		l.state = Established
		close(l.confirmed)
	}
}

// response builds an answer to req from this leg: its To tag, and a Contact on
// INVITE answers that may make a dialog.
func (l *Leg) response(req *gosip.Request, code int, reason string, body []byte) *gosip.Response {
	if to := req.To(); to != nil && !to.Params.Has("tag") {
		to.Params.Add("tag", l.localTag)
	}
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	if req.Method == gosip.INVITE && code > 100 && code < 300 {
		res.AppendHeader(l.ph.contactHeader())
	}
	if body != nil {
		res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	}
	res.SetBody(body)
	return res
}

// request builds an in-dialog request (RFC 3261 12.2.1.1) with the next local CSeq.
func (l *Leg) request(m gosip.RequestMethod) *gosip.Request {
	l.mu.Lock()
	l.localSeq++
	seq := l.localSeq
	target, remoteTag := l.targetURI, l.remoteTag
	l.mu.Unlock()
	req := gosip.NewRequest(m, target)
	req.AppendHeader(&gosip.FromHeader{Address: l.localURI, Params: tagParams(l.localTag)})
	to := &gosip.ToHeader{Address: l.remoteURI, Params: gosip.NewParams()}
	if remoteTag != "" {
		to.Params.Add("tag", remoteTag)
	}
	req.AppendHeader(to)
	cid := gosip.CallIDHeader(l.id)
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: seq, MethodName: m})
	return req
}

// do sends an in-dialog request to the peer and waits for its final answer.
func (l *Leg) do(req *gosip.Request) (*gosip.Response, Outcome) {
	pop := l.ph.pop
	l.mu.Lock()
	dst := l.target
	l.mu.Unlock()
	if req.ContentLength() == nil {
		req.SetBody(nil)
	}
	tx, err := pop.send(req, l.ph.sock, dst, "")
	if err != nil {
		return nil, noAnswer(dst, err)
	}
	defer tx.end()
	res, err := tx.finalAnswer(pop.cfg.RequestTimeout, nil)
	if err != nil {
		return nil, noAnswer(dst, err)
	}
	return res, outcomeOf(res)
}

// onRequest handles a request the phone received.
func (ph *Phone) onRequest(req *gosip.Request, from link, src netip.AddrPort) {
	if req.CallID() == nil || req.CSeq() == nil || req.From() == nil || req.To() == nil {
		if req.Method != gosip.ACK {
			ph.pop.respondStateless(req, 400, "Bad Request", from, src)
		}
		return
	}
	id := req.CallID().Value()
	_, tagged := req.To().Params.Get("tag")
	switch {
	case req.Method == gosip.INVITE && !tagged:
		ph.onInvite(req, from, src)
	case req.Method == gosip.ACK:
		if l := ph.leg(id); l != nil {
			l.onAck(req)
		}
	case req.Method == gosip.CANCEL:
		ph.onCancel(req, from, src)
	default:
		l := ph.leg(id)
		switch {
		case l != nil && req.Method == gosip.INVITE:
			l.onReinvite(req, from, src)
		case l != nil:
			l.onInDialog(req, from, src)
		case req.Method == gosip.OPTIONS:
			ph.pop.respondStateless(req, 200, "OK", from, src)
		default:
			ph.pop.respondStateless(req, 481, "Call/Transaction Does Not Exist", from, src)
		}
	}
}

// onInvite takes a new call: the phone rings (180) and the Incoming event decides the rest.
func (ph *Phone) onInvite(req *gosip.Request, from link, src netip.AddrPort) {
	id := req.CallID().Value()
	if l := ph.leg(id); l != nil {
		if l.inv != nil {
			l.inv.again() // a retransmission
		}
		return
	}
	l := newLeg(ph, id, false)
	l.localTag = newTag()
	l.localURI = req.To().Address
	l.remoteURI = req.From().Address
	l.remoteTag, _ = req.From().Params.Get("tag")
	l.invite = req
	l.remoteSeq = req.CSeq().SeqNo
	l.remoteSDP = req.Body()
	l.target, l.targetURI = src, req.Recipient
	if c := req.Contact(); c != nil {
		if a, ok := uriAddr(c.Address); ok {
			l.target, l.targetURI = a, c.Address
		}
	}
	l.inv = &serverInvite{pop: ph.pop, l: from, dst: src}
	ph.track(l)
	l.inv.respond(l.response(req, 180, "Ringing", nil))
	if f := ph.pop.cfg.Events.Incoming; f != nil {
		f(&Incoming{Leg: l})
	} else {
		(&Incoming{Leg: l}).Answer(nil)
	}
}

// Incoming is a call ringing a phone.
type Incoming struct{ *Leg }

// ErrNotRinging is an answer or refusal of a call that is no longer ringing.
var ErrNotRinging = errors.New("the call is not ringing")

// Answer answers with sdp (nil: the shared sink); the leg is established when the ACK
// arrives.
func (in *Incoming) Answer(sdp []byte) error {
	l := in.Leg
	if sdp == nil {
		sdp = l.ph.pop.sinkOffer()
	}
	l.mu.Lock()
	if l.state != Early || l.inv.answered() != 0 {
		l.mu.Unlock()
		return ErrNotRinging
	}
	l.localSDP = sdp
	l.mu.Unlock()
	l.inv.respond(l.response(l.invite, 200, "OK", sdp))
	return nil
}

// Reject refuses the call with code.
func (in *Incoming) Reject(code int, reason string) error {
	l := in.Leg
	if l.State() != Early || l.inv.answered() != 0 {
		return ErrNotRinging
	}
	l.inv.respond(l.response(l.invite, code, reason, nil))
	l.end("rejected " + reason)
	return nil
}

func (l *Leg) onAck(req *gosip.Request) {
	seq := req.CSeq().SeqNo
	l.mu.Lock()
	inv, reinv, reinvSeq := l.inv, l.reinv, l.reinvSeq
	l.mu.Unlock()
	switch {
	case reinv != nil && seq == reinvSeq:
		reinv.ack()
	case inv != nil:
		inv.ack()
		if c := inv.answered(); c >= 200 && c < 300 {
			l.establish()
		}
	}
}

// onCancel answers a CANCEL and ends the ringing call with 487 (RFC 3261 9.2); the
// CANCEL's Reason (a pickup's "Call completed elsewhere") becomes the leg's end reason.
func (ph *Phone) onCancel(req *gosip.Request, from link, src netip.AddrPort) {
	l := ph.leg(req.CallID().Value())
	if l == nil || l.uac {
		ph.pop.respondStateless(req, 481, "Call/Transaction Does Not Exist", from, src)
		return
	}
	_ = from.write(encode(l.response(req, 200, "OK", nil)), src)
	if l.inv.answered() != 0 {
		return
	}
	l.inv.respond(l.response(l.invite, 487, "Request Terminated", nil))
	reason := "cancelled"
	if h := req.GetHeader("Reason"); h != nil {
		reason = "cancelled: " + h.Value()
	}
	l.end(reason)
}

// onReinvite answers a re-INVITE (the Call Park application moving a parked call's media
// on retrieval or ring-back) with the leg's own media.
func (l *Leg) onReinvite(req *gosip.Request, from link, src netip.AddrPort) {
	seq := req.CSeq().SeqNo
	l.mu.Lock()
	if l.reinv != nil && seq == l.reinvSeq {
		reinv := l.reinv
		l.mu.Unlock()
		reinv.again()
		return
	}
	if seq <= l.remoteSeq || l.state == Ended {
		l.mu.Unlock()
		_ = from.write(encode(l.response(req, 500, "Server Internal Error", nil)), src)
		return
	}
	l.remoteSeq, l.reinvSeq = seq, seq
	l.reinv = &serverInvite{pop: l.ph.pop, l: from, dst: src}
	reinv := l.reinv
	if len(req.Body()) > 0 {
		l.remoteSDP = req.Body()
	}
	if c := req.Contact(); c != nil {
		if a, ok := uriAddr(c.Address); ok {
			l.target, l.targetURI = a, c.Address
		}
	}
	sdp := l.localSDP
	l.mu.Unlock()
	if sdp == nil {
		sdp = l.ph.pop.sinkOffer()
	}
	reinv.respond(l.response(req, 200, "OK", sdp))
}

// onInDialog answers BYE, NOTIFY, REFER and the rest inside a dialog, once per request
// (a retransmission gets the same answer again).
func (l *Leg) onInDialog(req *gosip.Request, from link, src netip.AddrPort) {
	seq := req.CSeq().SeqNo
	l.mu.Lock()
	if seq == l.lastSeq && req.Method == l.lastMethod && l.lastAnswer != nil {
		ans, lk, dst := l.lastAnswer, l.lastLink, l.lastDst
		l.mu.Unlock()
		_ = lk.write(ans, dst)
		return
	}
	l.remoteSeq = max(l.remoteSeq, seq)
	state := l.state
	l.mu.Unlock()
	code, reason := 200, "OK"
	var after func()
	switch req.Method {
	case gosip.BYE:
		after = func() { l.end("hung up by the other party") }
	case gosip.REFER:
		switch {
		case state != Established:
			code, reason = 481, "Call/Transaction Does Not Exist"
		case req.ReferTo() == nil:
			code, reason = 400, "Bad Request"
		default:
			code, reason = 202, "Accepted"
			after = func() { go l.followRefer(req) }
		}
	case gosip.NOTIFY:
		if ct := req.GetHeader("Content-Type"); ct != nil && strings.Contains(ct.Value(), "sipfrag") {
			if f, err := lync.ParseSipfrag(req.Body()); err == nil {
				select {
				case l.notifies <- Outcome{Outcome: f.Outcome, ParkOrbit: f.ParkOrbit}:
				default:
				}
			}
		}
	}
	ans := encode(l.response(req, code, reason, nil))
	l.mu.Lock()
	l.lastSeq, l.lastMethod, l.lastAnswer, l.lastLink, l.lastDst = seq, req.Method, ans, from, src
	l.mu.Unlock()
	_ = from.write(ans, src)
	if after != nil {
		after()
	}
}
