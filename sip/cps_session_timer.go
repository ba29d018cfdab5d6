package sip

import (
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
)

// The Call Park application's half of RFC 4028 session timers (the phone's is
// sip/phone's call_session_timer.go; the header fields are sip/lync's). It offers a session interval on every leg it answers (parkee,
// caller and picker of a picked-up call, retriever) and asks for one on the ring-back it
// places to a parker, always with the phone as refresher; then it answers the refreshes.
// When the application's pool fails, the refreshes go unanswered and the phones end
// their calls: how a parked call learns, as Lync documents, that it "is disconnected".
// It never refreshes itself, so a phone that does not support session timers (no
// Supported: timer) is offered none (RFC 4028 §9 would make the application refresh).

// sessionTimerOffer returns the headers with which the Call Park application's 2xx to an
// INVITE offers a session timer: the phone refreshes (refresher=uac, which needs
// Require: timer), at the interval the phone asked for if shorter than SessionExpires.
// It notes sdp, the application's answer, for the refreshes to come.
func (rt *runtime) sessionTimerOffer(req *gosip.Request, sdp []byte) []gosip.Header {
	rt.legSDP.Store(siputil.CallID(req), sdp)
	if !siputil.Supports(req, "timer") {
		return nil
	}
	se := lync.SessionExpiry{Interval: lync.SessionExpires, Refresher: lync.RefresherUAC}
	if asked, ok := lync.ParseSessionExpiry(req); ok && asked.Interval < se.Interval {
		se.Interval = asked.Interval
	}
	return []gosip.Header{se.Header(), gosip.NewHeader("Require", "timer"), gosip.NewHeader("Allow", cpsAllow)}
}

// ringBackSessionTimer adds to a ring-back INVITE the headers that ask the parker's phone
// for a session timer it refreshes itself (refresher=uas), and notes its offer.
func (rt *runtime) ringBackSessionTimer(invite *gosip.Request) {
	rt.legSDP.Store(siputil.CallID(invite), invite.Body())
	se := lync.SessionExpiry{Interval: lync.SessionExpires, Refresher: lync.RefresherUAS}
	invite.AppendHeader(se.Header())
	invite.AppendHeader(gosip.NewHeader("Supported", "timer"))
	invite.AppendHeader(gosip.NewHeader("Allow", cpsAllow))
}

// cpsAllow lists what the Call Park application takes on its legs.
const cpsAllow = "INVITE, ACK, CANCEL, BYE, UPDATE, NOTIFY, OPTIONS"

// refreshSession answers a session refresh (an UPDATE, or a re-INVITE offering the same
// session) on a leg the Call Park application holds, and reports whether req was one. A
// re-INVITE is answered with the SDP the application last sent on that leg, so that a
// refresh changes nothing.
func (rt *runtime) refreshSession(req *gosip.Request, tx gosip.ServerTransaction) bool {
	if req.Method != gosip.UPDATE && req.Method != gosip.INVITE {
		return false
	}
	sdp, ok := rt.cpsLegSDP(siputil.CallID(req))
	if !ok {
		return false
	}
	var body []byte
	if req.Method == gosip.INVITE {
		body = sdp
	}
	res := gosip.NewResponseFromRequest(req, 200, "OK", body)
	if body != nil {
		res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
		res.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "cps", Host: rt.laddr.IP.String(), Port: rt.laddr.Port}})
	}
	if se, ok := lync.ParseSessionExpiry(req); ok {
		res.AppendHeader(se.Header())
		if se.Refresher == lync.RefresherUAC {
			res.AppendHeader(gosip.NewHeader("Require", "timer"))
		}
	}
	if err := tx.Respond(res); err != nil {
		rt.pool.log.Debug("session refresh answer not sent", "call_id", siputil.CallID(req), "err", err)
	}
	return true
}

// cpsLegSDP finds a leg the Call Park application holds (parked, or one side of a call it
// connected) and the SDP it last sent there.
func (rt *runtime) cpsLegSDP(id string) ([]byte, bool) {
	rt.parking.mu.Lock()
	held := rt.parking.byLeg[id] != nil
	rt.parking.mu.Unlock()
	rt.mu.Lock()
	bridged := rt.bridges[id] != nil
	rt.mu.Unlock()
	if !held && !bridged {
		return nil, false
	}
	v, ok := rt.legSDP.Load(id)
	if !ok {
		return nil, false
	}
	return v.([]byte), true
}

// noteLegSDP records the SDP the application just sent on a leg in a re-INVITE.
func (rt *runtime) noteLegSDP(id string, sdp []byte) { rt.legSDP.Store(id, sdp) }

// forgetLegs drops what was noted of legs that ended.
func (rt *runtime) forgetLegs(ids ...string) {
	for _, id := range ids {
		rt.legSDP.Delete(id)
	}
}
