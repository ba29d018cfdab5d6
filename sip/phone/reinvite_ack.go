package phone

import (
	"fmt"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
)

// A 2xx to an INVITE is retransmitted by the UAS core, not by its transaction, until the
// ACK arrives (RFC 3261 §13.3.1.4): over a lossy network a lost 2xx is otherwise never
// sent again, and the re-INVITE that the Call Park application sends on a retrieval or a
// ring-back would fail. sipgo does it for the INVITE that set a dialog up; the phone does
// it for the re-INVITEs it answers.

// ackKey identifies the ACK of an INVITE: its Call-ID and CSeq number.
func ackKey(callID string, seq uint32) string { return fmt.Sprintf("%s/%d", callID, seq) }

// respondUntilAcked sends the 2xx of a re-INVITE, again at T1, then doubling up to T2,
// until its ACK arrives or 64*T1 passed.
func (ph *Phone) respondUntilAcked(req *gosip.Request, tx gosip.ServerTransaction, res *gosip.Response) {
	key := ackKey(siputil.CallID(req), req.CSeq().SeqNo)
	acked := make(chan struct{})
	ph.acks.Store(key, acked)
	tx.Respond(res)
	go func() {
		defer ph.acks.Delete(key)
		giveUp := time.NewTimer(siputil.TransactionTimeout())
		defer giveUp.Stop()
		wait := gosip.T1
		for {
			select {
			case <-acked:
				return
			case <-giveUp.C:
				return
			case <-time.After(wait):
				ph.srv.WriteResponse(res)
				wait = min(2*wait, gosip.T2)
			}
		}
	}()
}

// onAck takes an ACK: of a re-INVITE's 2xx the phone is retransmitting, or of the 2xx
// that set up a dialog it answered.
func (ph *Phone) onAck(req *gosip.Request, tx gosip.ServerTransaction) {
	if v, ok := ph.acks.LoadAndDelete(ackKey(siputil.CallID(req), req.CSeq().SeqNo)); ok {
		close(v.(chan struct{}))
		return
	}
	ph.dsrv.ReadAck(req, tx)
}
