package sip

import (
	"context"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// transactionTimeout is how long a client transaction lives when nothing answers: 64*T1,
// Timer B for an INVITE and Timer F for any other request (RFC 3261 §17.1). Pools and
// phones bound their waits on the network with it rather than with a guess: over a lossy
// network a request may be retransmitted up to six times (T1, 2*T1, ... T2) before its
// answer comes back.
func transactionTimeout() time.Duration { return 64 * gosip.T1 }

// awaitFinal reads a client transaction's responses until its final one (which it
// returns), the transaction's end or ctx's (nil). Responses() is unbuffered: a
// transaction nobody reads blocks.
func awaitFinal(ctx context.Context, clTx gosip.ClientTransaction) *gosip.Response {
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

// statelessRequest builds a request on the dialog a 2xx to an INVITE opened, without the
// dialog's state: to the 2xx's Contact, with its From (the caller's tag), To (the
// answerer's tag) and Call-ID. It is how a UAC acknowledges and hangs up a 2xx it no
// longer wants (RFC 3261 §13.2.2.4, §15).
func statelessRequest(res *gosip.Response, m gosip.RequestMethod, seq uint32) *gosip.Request {
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
