package sip

import (
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// transactionTimeout is how long a client transaction lives when nothing answers: 64*T1,
// Timer B for an INVITE and Timer F for any other request (RFC 3261 §17.1). Pools and
// phones bound their waits on the network with it rather than with a guess: over a lossy
// network a request may be retransmitted up to six times (T1, 2*T1, ... T2) before its
// answer comes back.
func transactionTimeout() time.Duration { return 64 * gosip.T1 }
