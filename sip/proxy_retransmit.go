package sip

import (
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
)

// relay2xxRetransmissions keeps a forwarded INVITE's branch open after its 2xx and
// passes every retransmission of that 2xx upstream (RFC 6026 §7.1: a proxy forwards 2xx
// retransmissions statelessly). The answering phone retransmits its 2xx until the
// caller's ACK arrives; if the proxy dropped them, one lost 2xx on the way to the caller
// would leave the call unanswered there and unacknowledged at the callee. The branch's
// own Timer M (64*T1) ends it. It reports that the branch is left open.
func (rt *runtime) relay2xxRetransmissions(req *gosip.Request, clTx gosip.ClientTransaction) bool {
	return clTx.OnRetransmission(func(res *gosip.Response) {
		if !res.IsSuccess() {
			return
		}
		if err := rt.srv.WriteResponse(upstream(req, res)); err != nil {
			rt.pool.log.Debug("2xx retransmission not relayed", "call_id", siputil.CallID(req), "err", err)
		}
	})
}
