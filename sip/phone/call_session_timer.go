package phone

import (
	"context"
	"fmt"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
)

// The phone's half of RFC 4028 session timers. When the far end offers a session
// interval (the Call Park application does on every leg it answers), the side named by
// refresher sends a refresh (an UPDATE) every half interval; a refresh that times out or
// is answered 408 or 481 ends the call (§10), as does, on the other side, an interval
// that passes without a refresh. It is how a phone learns that the Call Park
// application holding its call died, even when media still flows (a picked-up call's
// RTP goes phone to phone). The timers run on the phone's clock; the refresh itself is a
// real transaction, whose answer (or the network's "unreachable") decides.

// sessionTimer is a call's session timer, guarded by the call's lock.
type sessionTimer struct {
	se        lync.SessionExpiry
	role      string // this phone's side of the dialog: refresherUAC or refresherUAS
	timer     clock.Timer
	refreshes int
}

// refresher reports whether this phone sends the refreshes.
func (st *sessionTimer) refresher() bool { return st.se.Refresher == st.role }

// prepareSessionTimer takes the session timer that msg (the 2xx that establishes the
// call) settles on, if any; it starts when the call is established. uac says whether this
// phone sent the INVITE.
func (c *Call) prepareSessionTimer(msg interface{ GetHeader(string) gosip.Header }, uac bool) {
	se, ok := lync.ParseSessionExpiry(msg)
	if !ok {
		return
	}
	role := lync.RefresherUAS
	if uac {
		role = lync.RefresherUAC
	}
	if se.Refresher == "" {
		se.Refresher = lync.RefresherUAS // RFC 4028 §7.2: the UAS names it; absent, it took the job
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timers.session = &sessionTimer{se: se, role: role}
}

// answerSessionTimer adds to the phone's 2xx the session timer an INVITE asks for (RFC
// 4028 §9): the interval copied, and this phone as refresher unless the caller chose.
func (c *Call) answerSessionTimer(invite *gosip.Request, res *gosip.Response) {
	se, ok := lync.ParseSessionExpiry(invite)
	if !ok {
		return
	}
	if se.Refresher == "" || se.Refresher == lync.RefresherUAC && !siputil.Supports(invite, "timer") {
		se.Refresher = lync.RefresherUAS
	}
	res.AppendHeader(se.Header())
	if se.Refresher == lync.RefresherUAC {
		res.AppendHeader(gosip.NewHeader("Require", "timer"))
	}
	c.prepareSessionTimer(res, false)
}

// armSessionLocked schedules the next refresh (this phone refreshes: at half the
// interval) or the expiry (the other side refreshes: the interval less the margin of
// RFC 4028 §10). c.mu is held.
func (c *Call) armSessionLocked() {
	st := c.timers.session
	if st == nil {
		return
	}
	if st.timer != nil {
		st.timer.Stop()
		st.timer = nil
	}
	if st.refresher() {
		st.timer = c.phone.clock.AfterFunc(st.se.Interval/2, c.refreshSession)
		return
	}
	st.timer = c.phone.clock.AfterFunc(st.se.Interval-lync.ExpiryMargin(st.se.Interval), func() {
		c.endIfEstablished("session timer expired: no refresh from the other party")
	})
}

// refreshSession sends the session refresh (RFC 4028 §7.4, §9: an UPDATE, which the far
// end allows) and carries out its answer.
func (c *Call) refreshSession() {
	c.mu.Lock()
	st := c.timers.session
	if c.state != Established || st == nil {
		c.mu.Unlock()
		return
	}
	se := lync.SessionExpiry{Interval: st.se.Interval, Refresher: st.role}
	c.mu.Unlock()
	req := gosip.NewRequest(gosip.UPDATE, c.peerTarget())
	req.AppendHeader(se.Header())
	req.AppendHeader(gosip.NewHeader("Supported", "timer"))
	res, err := c.do(context.Background(), req)
	switch {
	case err != nil:
		c.endIfEstablished(fmt.Sprintf("session timer expired: refresh unanswered (%v)", err))
	case res.IsSuccess():
		c.mu.Lock()
		st.refreshes++
		if got, ok := lync.ParseSessionExpiry(res); ok {
			st.se.Interval = got.Interval
			if got.Refresher != "" {
				st.se.Refresher = got.Refresher
			}
		}
		c.armSessionLocked()
		c.mu.Unlock()
	case res.StatusCode == 408 || res.StatusCode == 481:
		c.endIfEstablished(fmt.Sprintf("session timer expired: refresh unanswered (%s)", lync.OutcomeOf(res)))
	default:
		// Another refusal (491, 5xx) does not end the session by itself (§10): it lasts
		// until its expiry, when the call ends unless a refresh got through meanwhile.
		c.mu.Lock()
		if st.timer != nil {
			st.timer.Stop()
		}
		st.timer = c.phone.clock.AfterFunc(st.se.Interval/2-lync.ExpiryMargin(st.se.Interval), func() {
			c.endIfEstablished(fmt.Sprintf("session timer expired: refresh refused (%s)", lync.OutcomeOf(res)))
		})
		c.mu.Unlock()
	}
}

// sessionRefreshed takes a refresh from the other side (an UPDATE or re-INVITE that
// carries Session-Expires) and returns the headers of the 2xx that accepts it.
func (c *Call) sessionRefreshed(req *gosip.Request) []gosip.Header {
	se, ok := lync.ParseSessionExpiry(req)
	if !ok {
		return nil // no session timer asked for: keep the one running
	}
	role := lync.RefresherUAS
	if c.Outgoing {
		role = lync.RefresherUAC
	}
	if se.Refresher == "" {
		se.Refresher = role // left to us (§9): this phone refreshes
	}
	c.mu.Lock()
	if c.timers.session == nil {
		c.timers.session = &sessionTimer{role: role}
	}
	c.timers.session.se = se
	c.armSessionLocked()
	c.mu.Unlock()
	hs := []gosip.Header{se.Header()}
	if se.Refresher == lync.RefresherUAC {
		hs = append(hs, gosip.NewHeader("Require", "timer"))
	}
	return hs
}

// onUpdate answers an UPDATE on a call: a session refresh (RFC 3311, RFC 4028).
func (ph *Phone) onUpdate(req *gosip.Request, tx gosip.ServerTransaction) {
	c := ph.call(siputil.CallID(req))
	if c == nil || c.State() != Established {
		tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	for _, h := range c.sessionRefreshed(req) {
		res.AppendHeader(h)
	}
	tx.Respond(res)
}

// endIfEstablished ends the call for reason, if it is still established.
func (c *Call) endIfEstablished(reason string) {
	if c.State() == Established {
		c.endNow(reason)
	}
}

// SessionRefreshes returns how many session refreshes of this phone were accepted.
func (c *Call) SessionRefreshes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timers.session == nil {
		return 0
	}
	return c.timers.session.refreshes
}
