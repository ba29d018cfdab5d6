package siputil

import (
	"context"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// TransactionTimeout is how long a client transaction lives when nothing answers: 64*T1,
// Timer B for an INVITE and Timer F for any other request (RFC 3261 §17.1). Pools and
// phones bound their waits on the network with it rather than with a guess: over a lossy
// network a request may be retransmitted up to six times (T1, 2*T1, ... T2) before its
// answer comes back.
func TransactionTimeout() time.Duration { return 64 * gosip.T1 }

// AwaitFinal reads a client transaction's responses until its final one (which it
// returns), the transaction's end or ctx's (nil). Responses() is unbuffered: a
// transaction nobody reads blocks.
func AwaitFinal(ctx context.Context, clTx gosip.ClientTransaction) *gosip.Response {
	for {
		select {
		case res := <-clTx.Responses():
			if res.StatusCode >= 200 {
				return res
			}
		case <-clTx.Done():
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// StatelessRequest builds a request on the dialog a 2xx to an INVITE opened, without the
// dialog's state: to the 2xx's Contact, with its From (the caller's tag), To (the
// answerer's tag) and Call-ID. It is how a UAC acknowledges and hangs up a 2xx it no
// longer wants (RFC 3261 §13.2.2.4, §15).
func StatelessRequest(res *gosip.Response, m gosip.RequestMethod, seq uint32) *gosip.Request {
	r := gosip.NewRequest(m, *res.Contact().Address.Clone())
	r.AppendHeader(gosip.HeaderClone(res.From()))
	r.AppendHeader(gosip.HeaderClone(res.To()))
	r.AppendHeader(gosip.HeaderClone(res.CallID()))
	r.AppendHeader(&gosip.CSeqHeader{SeqNo: seq, MethodName: m})
	mf := gosip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.SetDestination(res.Contact().Address.HostPort())
	return r
}

// SendCancel sends CANCEL for an INVITE already sent (RFC 3261 9.1: same Request-URI,
// Call-ID, From, To, CSeq number and top Via), to where the INVITE went, and waits for its
// answer.
func SendCancel(ctx context.Context, cli *sipgo.Client, invite *gosip.Request, reason gosip.Header, extra []gosip.Header) error {
	c := gosip.NewRequest(gosip.CANCEL, *invite.Recipient.Clone())
	c.AppendHeader(gosip.HeaderClone(invite.Via()))
	c.AppendHeader(gosip.HeaderClone(invite.From()))
	c.AppendHeader(gosip.HeaderClone(invite.To()))
	c.AppendHeader(gosip.HeaderClone(invite.CallID()))
	c.AppendHeader(&gosip.CSeqHeader{SeqNo: invite.CSeq().SeqNo, MethodName: gosip.CANCEL})
	mf := gosip.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	if reason != nil {
		c.AppendHeader(gosip.NewHeader("Reason", reason.Value()))
	}
	for _, h := range extra {
		c.AppendHeader(h)
	}
	c.SetTransport(invite.Transport())
	c.SetDestination(invite.Destination())
	c.Laddr = invite.Laddr
	clTx, err := cli.TransactionRequest(ctx, c, func(*sipgo.Client, *gosip.Request) error { return nil })
	if err != nil {
		return err
	}
	defer clTx.Terminate()
	select {
	case <-clTx.Responses():
		return nil
	case <-clTx.Done():
		return clTx.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}
