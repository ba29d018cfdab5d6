package sip

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Ring-back (SPEC section 4; [MS-SIPAPP] 3.1.5.10): a call nobody retrieves within
// CallPickupTimeoutThreshold rings its parker. Answered, the parker is connected to the
// parkee; unanswered within RingBackTimeout, it counts as one attempt: after
// MaxCallPickupAttempts the parkee is transferred (REFER) to OnTimeoutURI, or hung up
// with ms-diagnostics 35013 when none is set.

// ringBack runs when the ring-back timer of call id on orbit falls due.
func (pk *parking) ringBack(orbit string, id uint64) {
	rt := pk.rt
	if rt.ctx.Err() != nil {
		return
	}
	pk.mu.Lock()
	p, ok := pk.lot.Expire(orbit, id)
	h := pk.held[id]
	if !ok || h == nil {
		pk.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(rt.ctx)
	h.ring = cancel
	pk.mu.Unlock()
	stop := rt.pool.dep.Clock().AfterFunc(RingBackTimeout, cancel)
	// The ring-back's INVITE is the pool's own: counted (Pool.OwnSends) until it is sent.
	rt.pool.ownSends.Hold()
	var sent sync.Once
	done := func() { sent.Do(func() { rt.pool.ownSends.Release() }) }
	go func() {
		defer cancel()
		defer done()
		sess, err := pk.dialParker(ctx, p, h, done)
		stop.Stop()
		if err == nil {
			pk.ringBackAnswered(p, h, sess)
			return
		}
		pk.ringBackFailed(p, h, err)
	}()
}

// dialParker rings the parker's registration with the parkee's offer, and returns the
// answered leg, not acknowledged yet. It calls sent once the INVITE is on its way.
func (pk *parking) dialParker(ctx context.Context, p park.Parked, h *heldCall, sent func()) (*sipgo.DialogClientSession, error) {
	rt := pk.rt
	b, ok := rt.lookup(p.Parker)
	if !ok {
		return nil, fmt.Errorf("the parker %s is not registered on %s", p.Parker, rt.pool.fqdn)
	}
	domain := rt.pool.dep.Domain()
	req := gosip.NewRequest(gosip.INVITE, *b.contact.Clone())
	// The ring-back's identifiers name the parked call and the attempt (package ids).
	g, attempt := rt.pool.ids, []string{siputil.CallID(h.parkee.InviteRequest), strconv.Itoa(p.RingBacks)}
	callID := g.Token(append([]string{"ring-back"}, attempt...)...)
	req.AppendHeader(&gosip.FromHeader{DisplayName: "Call Park", Address: gosip.Uri{Scheme: "sip", User: lync.ParkUser, Host: domain},
		Params: gosip.HeaderParams{{K: "tag", V: g.Token(append([]string{"ring-back-tag"}, attempt...)...)}}})
	req.AppendHeader(&gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: p.Parker, Host: domain}})
	cid := gosip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: g.CSeq(callID), MethodName: gosip.INVITE})
	req.AppendHeader(gosip.NewHeader(lync.HeaderAssertedIdentity, rt.identityOf(p.Parkee)))
	req.AppendHeader(gosip.NewHeader(lync.HeaderParkOrbit, p.Orbit))
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(h.offer)
	rt.ringBackSessionTimer(req) // RFC 4028 (cps_session_timer.go)
	dest := b.route()            // relay.go: where the registration proved the parker is, never a name
	rt.address(req, dest)
	sess, err := pk.out.WriteInvite(ctx, req)
	sent()
	if err != nil {
		return nil, err
	}
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		sess.Close()
		return nil, err
	}
	return sess, nil
}

// ringBackAnswered connects the parker who answered to the parkee, freeing the orbit. If
// the call left its orbit meanwhile (retrieved, or the parkee hung up), the parker's leg
// is hung up. The two legs are bridged before the parker's answer is acknowledged, so a
// BYE on either leg ends both, whenever it comes (issue 9.4(b): a parker who hung up at
// once got 481, and the parkee was reconnected to nobody).
func (pk *parking) ringBackAnswered(p park.Parked, h *heldCall, sess *sipgo.DialogClientSession) {
	rt := pk.rt
	parkeeID, parkerID := siputil.CallID(h.parkee.InviteRequest), siputil.CallID(sess.InviteRequest)
	pk.mu.Lock()
	_, still := pk.lot.Leave(p.Orbit, p.ID)
	if still {
		delete(pk.held, p.ID)
		delete(pk.byLeg, parkeeID)
		rt.connectLegs(h.parkee, parkeeID, sess, parkerID)
	}
	hook := pk.onRingBackAnswered
	pk.mu.Unlock()
	ctx, cancel := context.WithTimeout(rt.ctx, siputil.TransactionTimeout())
	defer cancel()
	ackErr := sess.Ack(ctx)
	if !still {
		sess.Bye(ctx)
		sess.Close()
		return
	}
	h.moh.Close()
	if ackErr != nil {
		rt.pool.log.Warn("ring-back: ACK to the parker failed", "orbit", p.Orbit, "err", ackErr)
		pk.unbridgeBoth(ctx, parkerID, sess, h.parkee)
		return
	}
	if hook != nil {
		hook()
	}
	if _, err := pk.reinvite(ctx, h.parkee, sess.InviteResponse.Body(), p.Parker); err != nil {
		rt.pool.log.Warn("ring-back: parkee could not be reconnected", "orbit", p.Orbit, "err", err)
		pk.unbridgeBoth(ctx, parkerID, sess, h.parkee)
		return
	}
	rt.pool.log.Info("ring-back answered", "orbit", p.Orbit, "parker", p.Parker, "parkee", p.Parkee)
}

// unbridgeBoth ends a rung-back call that could not be connected: unless a BYE already
// ended it (bridge.go), both legs are hung up.
func (pk *parking) unbridgeBoth(ctx context.Context, parkerID string, parker *sipgo.DialogClientSession, parkee *sipgo.DialogServerSession) {
	rt := pk.rt
	if rt.unbridge(parkerID) == nil {
		return
	}
	parker.Bye(ctx)
	parker.Close()
	rt.byeLater(parkee)
}

// ringBackFailed counts an unanswered ring-back and carries out what the lot decides.
func (pk *parking) ringBackFailed(p park.Parked, h *heldCall, why error) {
	rt := pk.rt
	if rt.ctx.Err() != nil {
		return
	}
	cfg := rt.pool.dep.cps(rt.pool.fqdn)
	now := rt.pool.dep.Clock().Now()
	legID := siputil.CallID(h.parkee.InviteRequest)
	pk.mu.Lock()
	d, ok := pk.lot.RingBackFailed(p.Orbit, p.ID, cfg, now)
	if !ok {
		pk.mu.Unlock()
		return
	}
	h.ring = nil
	switch d.Action {
	case park.Repark:
		h.p = d.Call
		h.timer = pk.schedule(d.Call, cfg.CallPickupTimeoutThreshold)
	case park.Forward:
		delete(pk.held, p.ID) // byLeg keeps the leg until the transfer's final NOTIFY
	case park.Disconnect:
		delete(pk.held, p.ID)
		delete(pk.byLeg, legID)
	}
	pk.mu.Unlock()
	rt.pool.log.Info("ring-back unanswered", "orbit", p.Orbit, "attempt", d.Call.RingBacks, "action", d.Action.String(), "why", why)
	// The music plays on until the parked leg is released: the parkee's phone hears a
	// BYE or a transfer, never a silence it could take for a dead line.
	switch d.Action {
	case park.Forward:
		pk.forward(h, d)
	case park.Disconnect:
		pk.disconnect(h.parkee)
		h.moh.Close()
	}
}

// forward transfers the parkee to OnTimeoutURI with a REFER; the parkee's final NOTIFY
// ends its leg (inDialog). A refused REFER hangs the parkee up.
func (pk *parking) forward(h *heldCall, d park.TimeoutDecision) {
	rt := pk.rt
	req := gosip.NewRequest(gosip.REFER, *h.parkee.InviteRequest.Contact().Address.Clone())
	req.AppendHeader(gosip.NewHeader("Refer-To", "<"+d.Target+">"))
	req.AppendHeader(gosip.NewHeader("Referred-By", rt.identityOf(d.Call.Parker)))
	ctx, cancel := context.WithTimeout(rt.ctx, siputil.TransactionTimeout())
	defer cancel()
	res, err := siputil.FinalOrError(h.parkee.Do(ctx, req))
	if err != nil || res.StatusCode/100 != 2 {
		rt.pool.log.Warn("park timeout: transfer to OnTimeoutURI refused", "orbit", d.Call.Orbit, "target", d.Target, "err", err)
		pk.mu.Lock()
		delete(pk.byLeg, siputil.CallID(h.parkee.InviteRequest))
		pk.mu.Unlock()
		pk.disconnect(h.parkee)
		h.moh.Close()
	}
}

// disconnect hangs up a parkee whose park time expired (ms-diagnostics 35013).
func (pk *parking) disconnect(parkee *sipgo.DialogServerSession) {
	pk.hangUpParkee(parkee, topology.DiagParkTimeExpired)
}
