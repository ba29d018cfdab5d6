package sip

import (
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/clock"
)

// TimerC bounds how long a pool waits on a proxied INVITE branch that has answered only
// provisionally (RFC 3261 16.6 step 11: "larger than 3 minutes", reset by every provisional
// response, 16.7 step 2). When it fires the pool CANCELs the branch and answers 408
// upstream, which also frees the call's Group Call Pickup queue entry: a call whose caller
// and callee both vanished does not stay pickable for ever. Choice: 10 minutes, on the
// injected clock. The simulated phones, like many real ones, send 180 once and do not repeat
// it every minute (RFC 3261 13.3.1.1 asks them to), so a timer of 3 minutes would end calls
// that scenarios keep ringing across a failover.
const TimerC = 10 * time.Minute

// timerH is how long the Call Park application waits for the ACK of a 2xx it sent before it
// gives up on the leg (RFC 3261 13.3.1.4 and 17.2.1: 64*T1, 32 s), on the injected clock.
var timerH = 64 * gosip.T1

// branchTimer is a restartable timer on the injected clock whose expiry shows on a channel.
type branchTimer struct {
	clock clock.Clock
	d     time.Duration
	C     chan struct{}

	mu sync.Mutex
	t  clock.Timer
}

func newBranchTimer(c clock.Clock, d time.Duration) *branchTimer {
	b := &branchTimer{clock: c, d: d, C: make(chan struct{}, 1)}
	b.reset()
	return b
}

// reset restarts the timer from now.
func (b *branchTimer) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.t != nil {
		b.t.Stop()
	}
	b.t = b.clock.AfterFunc(b.d, func() {
		select {
		case b.C <- struct{}{}:
		default:
		}
	})
}

// stop cancels the timer.
func (b *branchTimer) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.t != nil {
		b.t.Stop()
	}
}
