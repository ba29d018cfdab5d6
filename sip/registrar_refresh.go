package sip

import (
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// staleRefresh checks a REGISTER against the binding it would change (RFC 3261 10.3 step
// 7): a phone refreshes with the same Call-ID and a higher CSeq; a new Call-ID (the phone
// restarted) replaces the binding. A lower or equal CSeq of the same Call-ID is a late
// retransmission or a replay, refused so it cannot undo a newer refresh. The zero binding
// (none yet) accepts anything.
func staleRefresh(b binding, req *gosip.Request) *topology.Rejection {
	cs := req.CSeq()
	if b.callID == "" || cs == nil || b.callID != siputil.CallID(req) || cs.SeqNo > b.cseq {
		return nil
	}
	return topology.StaleRegister(cs.SeqNo, b.cseq)
}
