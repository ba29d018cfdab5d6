package sip

import (
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/topology"
)

// Attended transfer (RFC 5589 section 7) is phone to phone: pools do not Record-Route, so
// the transferor's REFER goes straight to the transferee, whose INVITE with Replaces
// (RFC 3891) reaches the target through the pools like any call; a proxy passes Replaces
// on untouched (RFC 3891 section 5). Only an INVITE with Replaces addressed to the pool
// itself is the pool's business: it means taking over a call the Call Park application
// connected, which the application does not do, so it says so.

// refuseReplaces answers an INVITE with Replaces addressed to the pool itself, and
// reports whether it did.
func (rt *runtime) refuseReplaces(req *gosip.Request, tx gosip.ServerTransaction) bool {
	if req.GetHeader("Replaces") == nil || !rt.isMe(req.Recipient) {
		return false
	}
	rt.respond(tx, req, topology.ReplacesRefused())
	return true
}
