package phone

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
)

// Reliable ringing (RFC 3262). A 180 is a provisional response: RFC 3261 never
// retransmits it, so on a lossy network a caller may never hear its call ring. A phone
// that supports 100rel sends its 180 reliably when the caller does too: with Require:
// 100rel and an RSeq, again at T1, 2*T1... until the caller's PRACK arrives. The pools
// relay 18x and do not Record-Route, so the PRACK goes phone to phone.

const (
	// phoneSupported is what the phone's INVITEs offer: reliable provisional responses
	// (RFC 3262) and session timers (RFC 4028).
	phoneSupported = "100rel, timer"
	// phoneAllow lists the methods the phone takes within a dialog.
	phoneAllow = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, PRACK, UPDATE"
)

// reliability is a call's RFC 3262 state.
type reliability struct {
	mu       sync.Mutex
	lastRSeq uint32        // outgoing: the highest RSeq PRACKed
	reliable bool          // incoming: the 180 was sent reliably
	pracked  chan struct{} // incoming: closed when the 180's PRACK arrives
	once     sync.Once
}

// ringing builds the 180 of an incoming call: reliable when the caller supports it.
func (ph *Phone) ringing(c *Call, sess *sipgo.DialogServerSession) *gosip.Response {
	res := gosip.NewResponseFromRequest(sess.InviteRequest, 180, "Ringing", nil)
	if siputil.Supports(sess.InviteRequest, "100rel") {
		res.AppendHeader(gosip.NewHeader("Require", "100rel"))
		res.AppendHeader(gosip.NewHeader("RSeq", "1"))
		c.rel.mu.Lock()
		c.rel.reliable = true
		c.rel.mu.Unlock()
	}
	return res
}

// reliableRetransmits ticks when a reliable 180 is due again (T1, doubling up to T2,
// RFC 3262 §3), until its PRACK arrives or 64*T1 passed; stop ends it.
func (ph *Phone) reliableRetransmits(c *Call) (<-chan struct{}, func()) {
	c.rel.mu.Lock()
	reliable := c.rel.reliable
	c.rel.mu.Unlock()
	tick := make(chan struct{})
	if !reliable {
		return tick, func() {}
	}
	ctx, stop := context.WithTimeout(context.Background(), siputil.TransactionTimeout())
	go func() {
		wait := gosip.T1
		for {
			select {
			case <-time.After(wait):
			case <-c.rel.pracked:
				return
			case <-ctx.Done():
				return
			}
			select {
			case tick <- struct{}{}:
			case <-c.rel.pracked:
				return
			case <-ctx.Done():
				return
			}
			wait = min(2*wait, gosip.T2)
		}
	}()
	return tick, stop
}

// onPrack takes the PRACK of a reliable 180 (RFC 3262 §3): the 180 need not be sent again.
func (ph *Phone) onPrack(req *gosip.Request, tx gosip.ServerTransaction) {
	c := ph.call(siputil.CallID(req))
	if c == nil || c.Outgoing {
		tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	c.rel.once.Do(func() { close(c.rel.pracked) })
	tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
}

// provisional handles a provisional response to the phone's INVITE: ringing, a CANCEL
// held back until the INVITE was heard (RFC 3261 §9.1), and the PRACK of a reliable one.
// It runs on the goroutine that waits for the INVITE's answer.
func (ph *Phone) provisional(c *Call, sess *sipgo.DialogClientSession, res *gosip.Response) {
	c.mu.Lock()
	cancel := !c.provisional && c.cancelling
	c.provisional = true
	c.mu.Unlock()
	if cancel {
		ph.sendInviteCancel(c, sess.InviteRequest)
	}
	if res.StatusCode >= 180 {
		c.setState(Ringing, nil)
	}
	rseq, ok := reliableRSeq(res)
	if !ok {
		return
	}
	c.rel.mu.Lock()
	fresh := rseq > c.rel.lastRSeq
	if fresh {
		c.rel.lastRSeq = rseq
	}
	c.rel.mu.Unlock()
	if !fresh {
		return // a retransmission: the PRACK's own transaction retransmits if it was lost
	}
	// The PRACK is built here, not by sipgo's dialog: the dialog would number the INVITE's
	// ACK after it. Its CSeq follows the INVITE's (RFC 3262 §7.1, RFC 3261 §12.2.1.1).
	invite := sess.InviteRequest
	prack := gosip.NewRequest(gosip.PRACK, *res.Contact().Address.Clone())
	prack.AppendHeader(gosip.HeaderClone(invite.From()))
	prack.AppendHeader(gosip.HeaderClone(res.To()))
	prack.AppendHeader(gosip.HeaderClone(invite.CallID()))
	prack.AppendHeader(&gosip.CSeqHeader{SeqNo: invite.CSeq().SeqNo + rseq, MethodName: gosip.PRACK})
	mf := gosip.MaxForwardsHeader(70)
	prack.AppendHeader(&mf)
	prack.AppendHeader(gosip.NewHeader("RAck", fmt.Sprintf("%d %d INVITE", rseq, invite.CSeq().SeqNo)))
	prack.SetDestination(res.Contact().Address.HostPort())
	prack.Laddr = ph.laddr() // from the phone's own socket, where the answer comes back
	tx, err := ph.cli.TransactionRequest(context.Background(), prack, sipgo.ClientRequestAddVia)
	if err != nil {
		return
	}
	go func() {
		defer tx.Terminate()
		siputil.AwaitFinal(context.Background(), tx) // the transaction's own Timer F ends it
	}()
}

// reliableRSeq returns the RSeq of a reliable provisional response (Require: 100rel).
func reliableRSeq(res *gosip.Response) (uint32, bool) {
	if res.StatusCode == 100 || res.Contact() == nil {
		return 0, false
	}
	req := false
	for _, h := range res.GetHeaders("Require") {
		for _, t := range strings.Split(h.Value(), ",") {
			req = req || strings.EqualFold(strings.TrimSpace(t), "100rel")
		}
	}
	h := res.GetHeader("RSeq")
	if !req || h == nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
	return uint32(n), err == nil && n > 0
}
