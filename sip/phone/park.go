package phone

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/media"
)

// The phone's half of Call Park: parking by blind transfer (RFC 3515 REFER), following
// a REFER as the transferee, and taking a re-INVITE that moves the media (which the Call
// Park application sends on retrieval and ring-back).

// referTimeout bounds how long a transferee waits for the transfer target to answer, and
// a parker for the final NOTIFY.
const referTimeout = 32 * time.Second

// ParkError is a park the Call Park application refused: its final response, relayed by
// the parkee in the NOTIFY sipfrag (code, Warning and ms-diagnostics).
type ParkError struct{ Outcome lync.Outcome }

func (e *ParkError) Error() string { return "park refused: " + e.Outcome.String() }

// referStatus is one NOTIFY of a transfer: the sipfrag's status and headers.
type referStatus struct {
	outcome lync.Outcome
	orbit   string
}

// ParkOption changes how Park sends its REFER.
type ParkOption func(*parkOptions)

type parkOptions struct {
	uri     string // the Refer-To URI, without headers
	noHints bool
}

// ParkTo parks with Refer-To: <uri> (sip:park@contoso.com, say) instead of the park URI
// at the phone's registrar.
func ParkTo(uri string) ParkOption { return func(o *parkOptions) { o.uri = uri } }

// ParkWithoutHints sends the REFER as many phones do (baresip among them): no Referred-By
// (RFC 3892 makes it optional) and no headers in the Refer-To URI, so the parkee's INVITE
// says nothing of the call it parks.
func ParkWithoutHints() ParkOption { return func(o *parkOptions) { o.noHints = true } }

// Park parks an established call on the Call Park application, by a blind transfer: a
// REFER to the other party with Refer-To: <sip:park@POOL?X-Parked-Call=CALL-ID> (POOL is
// the phone's registrar, unless ParkTo says otherwise) and Referred-By naming this phone's
// user. The other party (the parkee) calls the park URI; the Call Park application answers
// it with the orbit in an X-Park-Orbit header, which the parkee relays in its NOTIFY
// sipfrag. On success the phone hangs up its leg, as a transferor does, and returns the
// orbit ("" when the parkee's NOTIFY did not say it). A refusal is a *ParkError.
func (ph *Phone) Park(ctx context.Context, c *Call, opts ...ParkOption) (string, error) {
	var o parkOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.uri == "" {
		reg, _ := ph.Registrar()
		if reg == "" {
			return "", fmt.Errorf("%s: park call %s: %w", ph.user, c.Dialled, ErrNotRegistered)
		}
		o.uri = fmt.Sprintf("sip:%s@%s", lync.ParkUser, reg)
	}
	referTo := "<" + o.uri + ">"
	if !o.noHints {
		referTo = fmt.Sprintf("<%s?%s=%s>", o.uri, lync.HeaderParkedCall, url.QueryEscape(c.ID))
	}
	st, err := ph.transfer(ctx, c, referTo, !o.noHints)
	if err != nil {
		var refused *transferRefused
		if errors.As(err, &refused) {
			return "", &ParkError{Outcome: refused.outcome}
		}
		return "", fmt.Errorf("%s: park call %s: %w", ph.user, c.Dialled, err)
	}
	return st.orbit, nil
}

// Transfer blind-transfers an established call to target (a user or number of the
// domain): the other party calls target, and this phone hangs up once it is connected.
// It works in resiliency mode: a transfer never involves the Call Park application.
func (ph *Phone) Transfer(ctx context.Context, c *Call, target string) error {
	_, err := ph.transfer(ctx, c, fmt.Sprintf("<sip:%s@%s>", target, ph.domain), true)
	if err != nil {
		return fmt.Errorf("%s: transfer %s to %s: %w", ph.user, c.Dialled, target, err)
	}
	return nil
}

// transferRefused is a transfer whose referred call was refused.
type transferRefused struct{ outcome lync.Outcome }

func (e *transferRefused) Error() string { return "refused: " + e.outcome.String() }

// transfer sends REFER on an established call (with Referred-By when referredBy) and
// follows the NOTIFYs to the referred call's final answer (RFC 3515); on success the phone
// hangs up its leg, as a transferor does.
func (ph *Phone) transfer(ctx context.Context, c *Call, referTo string, referredBy bool) (referStatus, error) {
	if s := c.State(); s != Established {
		return referStatus{}, fmt.Errorf("the call is %s, not established", s)
	}
	ch := make(chan referStatus, 8)
	ph.transfers.Store(c.ID, ch)
	defer ph.endTransfer(c.ID, ch)

	req := gosip.NewRequest(gosip.REFER, c.peerTarget())
	req.AppendHeader(gosip.NewHeader("Refer-To", referTo))
	if referredBy {
		req.AppendHeader(gosip.NewHeader("Referred-By", fmt.Sprintf("<sip:%s@%s>", ph.user, ph.domain)))
	}
	res, err := c.do(ctx, req)
	if err != nil {
		return referStatus{}, fmt.Errorf("REFER: %w", err)
	}
	if res.StatusCode/100 != 2 {
		return referStatus{}, &transferRefused{outcome: lync.OutcomeOf(res)}
	}
	for {
		select {
		case st := <-ch:
			switch {
			case st.outcome.Code < 200:
				continue
			case st.outcome.Code >= 300:
				return referStatus{}, &transferRefused{outcome: st.outcome}
			}
			err := c.Hangup(ctx)
			ph.ownSends.Release() // the hang-up transferNews counted
			if err != nil {
				return st, fmt.Errorf("transferred, but hanging up the transferred call failed: %w", err)
			}
			return st, nil
		case <-ctx.Done():
			return referStatus{}, fmt.Errorf("no final NOTIFY: %w", ctx.Err())
		}
	}
}

// peerTarget is the remote target of the call's dialog (RFC 3261 12.1: the Contact of
// the other side).
func (c *Call) peerTarget() gosip.Uri {
	if c.client != nil {
		if ct := c.client.InviteResponse.Contact(); ct != nil {
			return *ct.Address.Clone()
		}
		return *c.client.InviteRequest.Recipient.Clone()
	}
	return *c.server.InviteRequest.Contact().Address.Clone()
}

// do sends an in-dialog request on the call and waits for its final response, with RFC
// 3261's retransmissions, cut short when the network says the other party is gone.
func (c *Call) do(ctx context.Context, req *gosip.Request) (*gosip.Response, error) {
	return c.phone.do(ctx, peerAddr(c.peerTarget()), func(ctx context.Context) (*gosip.Response, error) {
		if c.client != nil {
			return c.client.Do(ctx, req)
		}
		return c.server.Do(ctx, req)
	})
}

// onRefer accepts a REFER on an established call (RFC 3515 2.4): 202, then the phone calls
// the Refer-To target and reports progress to the referrer in NOTIFYs.
func (ph *Phone) onRefer(req *gosip.Request, tx gosip.ServerTransaction) {
	c := ph.call(siputil.CallID(req))
	if c == nil || c.State() != Established {
		tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	rt := req.ReferTo()
	if rt == nil {
		tx.Respond(gosip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	tx.Respond(gosip.NewResponseFromRequest(req, 202, "Accepted", nil))
	var referredBy string
	if h := req.GetHeader("Referred-By"); h != nil {
		referredBy = h.Value()
	}
	go ph.followRefer(c, *rt.Address.Clone(), referredBy)
}

// followRefer places the referred call and NOTIFYs the referrer of its outcome.
func (ph *Phone) followRefer(c *Call, target gosip.Uri, referredBy string) {
	ph.notifyRefer(c, "SIP/2.0 100 Trying\r\n", false)
	nc, err := ph.FollowRefer(target, referredBy)
	if err != nil {
		ph.notifyRefer(c, "SIP/2.0 503 Service Unavailable\r\n", true)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), referTimeout)
	defer cancel()
	nc.WaitState(ctx, Established, Failed, Cancelled, Ended)
	ph.notifyRefer(c, sipfragOf(nc), true)
}

// FollowRefer calls target for a REFER: Refer-To URI headers become request headers
// (RFC 3261 19.1.5), Referred-By is copied (RFC 3892). Like any new request, the call goes
// through the phone's outbound proxy (its registrar), whatever the target's host: that
// pool knows the phone and vouches for it. A phone with no registrar at all sends to the
// target's own address.
func (ph *Phone) FollowRefer(target gosip.Uri, referredBy string) (*Call, error) {
	var extra []gosip.Header
	if target.Headers != nil {
		for _, kv := range target.Headers {
			v, err := url.QueryUnescape(kv.V)
			if err != nil {
				v = kv.V
			}
			extra = append(extra, gosip.NewHeader(kv.K, v))
		}
		target.Headers = nil
	}
	if referredBy != "" {
		extra = append(extra, gosip.NewHeader("Referred-By", referredBy))
	}
	dest := ph.OutboundProxy()
	if dest == "" {
		dest = target.HostPort()
	}
	return ph.DialURI(target, dest, extra...)
}

// sipfragOf renders how a referred call went as a message/sipfrag (RFC 3420): the status
// line, plus the headers a parker needs (the orbit, or why the park was refused).
func sipfragOf(c *Call) string {
	f := lync.Sipfrag{Outcome: lync.Outcome{Code: 487, Reason: "Request Terminated"}}
	switch c.State() {
	case Established, Ended:
		f = lync.Sipfrag{Outcome: lync.Outcome{Code: 200, Reason: "OK"}, ParkOrbit: c.ParkOrbit()}
	case Failed:
		f.Outcome = c.Outcome()
	}
	return f.Render(c.phone.user)
}

// notifyRefer sends a NOTIFY of the implicit refer subscription (RFC 3515 2.4.4).
func (ph *Phone) notifyRefer(c *Call, frag string, final bool) {
	req := gosip.NewRequest(gosip.NOTIFY, c.peerTarget())
	req.AppendHeader(gosip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(gosip.NewHeader("Subscription-State", state))
	req.AppendHeader(gosip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte(frag))
	if _, err := c.do(context.Background(), req); err != nil && final {
		// The referrer may have hung up already; a transfer does not depend on it.
		return
	}
}

// onNotify takes a NOTIFY of a transfer this phone started, and hands its sipfrag to Park.
func (ph *Phone) onNotify(req *gosip.Request, tx gosip.ServerTransaction) {
	if ev := req.GetHeader("Event"); ev != nil && strings.HasPrefix(strings.ToLower(strings.TrimSpace(ev.Value())), dialoginfo.Event) {
		ph.onDialogNotify(req, tx) // a busy lamp key's (blf.go)
		return
	}
	if ph.call(siputil.CallID(req)) == nil {
		tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	if st, err := parseSipfrag(req.Body()); err == nil {
		ph.transferNews(siputil.CallID(req), st)
	}
	tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
}

// transferNews hands a transfer's NOTIFY to the transfer waiting on it, if any. A final
// success makes the transferor hang up (transfer): that BYE is counted among the phone's
// own sends (OwnSends) before the NOTIFY is answered, so that a replay that saw the
// answer waits for the BYE too.
func (ph *Phone) transferNews(callID string, st referStatus) {
	ph.transfersMu.Lock()
	defer ph.transfersMu.Unlock()
	v, ok := ph.transfers.Load(callID)
	if !ok {
		return
	}
	hangsUp := st.outcome.Code/100 == 2
	if hangsUp {
		ph.ownSends.Hold()
	}
	select {
	case v.(chan referStatus) <- st:
	default:
		if hangsUp {
			ph.ownSends.Release()
		}
	}
}

// endTransfer forgets a transfer: news that came for it and was not read hangs nothing
// up.
func (ph *Phone) endTransfer(callID string, ch chan referStatus) {
	ph.transfersMu.Lock()
	defer ph.transfersMu.Unlock()
	ph.transfers.Delete(callID)
	for {
		select {
		case st := <-ch:
			if st.outcome.Code/100 == 2 {
				ph.ownSends.Release()
			}
		default:
			return
		}
	}
}

// parseSipfrag reads a message/sipfrag status line and headers.
func parseSipfrag(body []byte) (referStatus, error) {
	f, err := lync.ParseSipfrag(body)
	return referStatus{outcome: f.Outcome, orbit: f.ParkOrbit}, err
}

// onReInvite takes a re-INVITE on an established call (RFC 3261 14.2): the other side
// moves the media (the Call Park application connecting a retriever or the parker). The
// phone answers from its own RTP socket and sends to the new address; a
// P-Asserted-Identity names the party now connected.
func (ph *Phone) onReInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	c := ph.call(siputil.CallID(req))
	if c == nil || c.State() != Established {
		tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	offer, err := media.ParseAudio(req.Body())
	if err != nil {
		tx.Respond(gosip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	answer, err := media.Answer(req.Body(), c.Media.LocalAddr(), ph.ids.SDPSession(c.ID, "reinvite", strconv.FormatUint(uint64(req.CSeq().SeqNo), 10)))
	if err != nil {
		tx.Respond(gosip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	c.startMedia(offer.Addr, answer)
	remote := lync.UserOf(req.GetHeader(lync.HeaderAssertedIdentity))
	c.established(req.Body(), answer, func(c *Call) {
		c.remoteMedia = offer.Addr
		if remote != "" {
			c.remote = remote
		}
	})
	res := gosip.NewResponseFromRequest(req, 200, "OK", answer)
	res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(&gosip.ContactHeader{Address: ph.Contact()})
	for _, h := range c.sessionRefreshed(req) {
		res.AppendHeader(h)
	}
	ph.respondUntilAcked(req, tx, res)
}

// peerAddr is where a request to u goes: its host and port (5060 when it names none).
func peerAddr(u gosip.Uri) string { return u.HostPort() }

// Contact is the phone's own address as a SIP URI.
func (ph *Phone) Contact() gosip.Uri {
	var u gosip.Uri
	gosip.ParseUri(fmt.Sprintf("sip:%s@%s", ph.user, ph.addr), &u)
	return u
}
