package phone

import (
	"context"
	"net"
	"strconv"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
)

// onStray takes a response that matches no transaction of the phone. Most are
// retransmissions and are dropped; a 2xx to an INVITE is not: it means a session was
// opened (RFC 3261 §13.2.2.4), maybe after the phone gave up waiting on its INVITE (a
// CANCEL that crossed the answer, a transaction that ended). The phone acknowledges it
// and, unless it is the answer of a call the phone is in, hangs it up with a BYE (§15), so
// that the far end is not left connected to nobody.
func (ph *Phone) onStray(res *gosip.Response) {
	cseq := res.CSeq()
	if !res.IsSuccess() || cseq == nil || cseq.MethodName != gosip.INVITE || res.Contact() == nil || res.To() == nil {
		return
	}
	if c := ph.call(siputil.CallID(res)); c != nil && c.State() == Established && c.client != nil && sameTag(c.client.InviteResponse.To(), res.To()) {
		ph.writeStateless(res, gosip.ACK, cseq.SeqNo) // sipgo stopped re-acknowledging; the call is on
		return
	}
	if err := ph.writeStateless(res, gosip.ACK, cseq.SeqNo); err != nil {
		return
	}
	bye := siputil.StatelessRequest(res, gosip.BYE, cseq.SeqNo+1)
	bye.Laddr = ph.laddr()
	ph.sendOnOwn(func() {
		ph.do(context.Background(), bye.Destination(), func(ctx context.Context) (*gosip.Response, error) {
			return ph.cli.Do(ctx, bye, sipgo.ClientRequestAddVia)
		})
	})
}

// writeStateless sends an ACK (or another request needing no transaction) on the dialog
// a 2xx opened.
func (ph *Phone) writeStateless(res *gosip.Response, m gosip.RequestMethod, seq uint32) error {
	r := siputil.StatelessRequest(res, m, seq)
	r.Laddr = ph.laddr()
	return ph.cli.WriteRequest(r, sipgo.ClientRequestAddVia)
}

// laddr is the phone's SIP socket, for requests built without sipgo's request builder.
func (ph *Phone) laddr() gosip.Addr {
	host, port, _ := net.SplitHostPort(ph.addr)
	pn, _ := strconv.Atoi(port)
	return gosip.Addr{IP: net.ParseIP(host), Port: pn}
}

// sameTag reports whether two To headers carry the same tag (the same answerer).
func sameTag(a, b *gosip.ToHeader) bool {
	if a == nil || b == nil {
		return false
	}
	ta, _ := a.Params.Get("tag")
	tb, _ := b.Params.Get("tag")
	return ta == tb
}
