package loadphone

import (
	"net/url"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/lync"
)

// DefaultReferWait bounds how long a transferor waits for the transfer's final NOTIFY.
const DefaultReferWait = 10 * time.Second

// Refer blind-transfers the other party of an established leg to referTo (a URI, with
// headers after "?" if any; parking is a REFER to sip:park@<domain>), with Referred-By
// naming this phone's user (RFC 3515, RFC 3892). It waits for the final NOTIFY and
// returns the transfer's outcome as the transferee relayed it, with the orbit when the
// Call Park application named one. A refused REFER returns the REFER's own answer.
// The leg is left up: a transferor hangs up itself (Bye) once the transfer succeeded.
func (l *Leg) Refer(referTo string, wait time.Duration) Outcome {
	if wait <= 0 {
		wait = DefaultReferWait
	}
	req := l.request(gosip.REFER)
	req.AppendHeader(gosip.NewHeader("Refer-To", "<"+referTo+">"))
	req.AppendHeader(gosip.NewHeader("Referred-By", "<"+l.ph.aor.String()+">"))
	req.AppendHeader(l.ph.contactHeader())
	res, out := l.do(req)
	if res == nil || !out.OK() {
		return out
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		select {
		case frag := <-l.notifies:
			if frag.Code >= 200 {
				return frag
			}
		case <-deadline.C:
			return local(408, "Request Timeout", "no final NOTIFY for the transfer", true)
		case <-l.ph.pop.closing:
			return local(408, "Request Timeout", "stopped", true)
		}
	}
}

// followRefer is the transferee's side (RFC 3515 2.4.4): call the Refer-To target with
// the headers its URI carries and the REFER's Referred-By, through the phone's registrar,
// then tell the transferor how it went in a NOTIFY whose sipfrag carries the final status
// line, its Warning and ms-diagnostics, and the orbit the Call Park application named.
func (l *Leg) followRefer(refer *gosip.Request) {
	rt := refer.ReferTo()
	target := *rt.Address.Clone()
	var extra []gosip.Header
	for _, kv := range target.Headers {
		v, err := url.QueryUnescape(kv.V)
		if err != nil {
			v = kv.V
		}
		extra = append(extra, gosip.NewHeader(kv.K, v))
	}
	target.Headers = nil
	if by := refer.GetHeader("Referred-By"); by != nil {
		extra = append(extra, gosip.NewHeader("Referred-By", by.Value()))
	}
	l.mu.Lock()
	sdp := l.localSDP
	l.mu.Unlock()
	nl, out := l.ph.Invite(target, InviteOptions{SDP: sdp, Headers: extra})
	l.notify(lync.Sipfrag{Outcome: out.Outcome, ParkOrbit: out.ParkOrbit}.Render(l.ph.user))
	if f := l.ph.pop.cfg.Events.Transferred; f != nil {
		f(l.ph, l, nl, out)
	}
}

// notify sends the transferor the final NOTIFY of a transfer.
func (l *Leg) notify(frag string) {
	req := l.request(gosip.NOTIFY)
	req.AppendHeader(gosip.NewHeader("Event", "refer"))
	req.AppendHeader(gosip.NewHeader("Subscription-State", "terminated;reason=noresource"))
	req.AppendHeader(l.ph.contactHeader())
	req.AppendHeader(gosip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte(frag))
	l.do(req)
}
