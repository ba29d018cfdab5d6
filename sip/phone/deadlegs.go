package phone

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// reachProbe bounds the check that a dialog's peer is reachable.
const reachProbe = 100 * time.Millisecond

// DeadLegs reports the established calls of the phone whose far end is gone: no RTP
// arrives now (on a call not on hold), or the party its dialog talks to is unreachable.
// A call that ends while it is being looked at (its timer fired, a BYE came) is not
// reported; a dead leg is one still established when ctx ends. A closed phone (its cable
// pulled) has no legs to report.
func (ph *Phone) DeadLegs(ctx context.Context) []error {
	ph.mu.Lock()
	closed := ph.closed
	ph.mu.Unlock()
	if closed {
		return nil
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, c := range ph.Calls() {
		if c.State() != Established {
			continue
		}
		wg.Go(func() {
			if why := c.deadLeg(ctx); why != "" {
				mu.Lock()
				dir := "from"
				if c.Outgoing {
					dir = "to"
				}
				errs = append(errs, fmt.Errorf("%s's call %s %s (connected to %s, Call-ID %s) is established, but %s",
					ph.user, dir, c.Dialled, c.Remote(), c.ID, why))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// deadLeg says why the call's far end looks gone, or "" when it is alive or the call
// ends before ctx does.
func (c *Call) deadLeg(ctx context.Context) string {
	gone, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // a call that ends meanwhile is no dead leg
		c.WaitState(gone, Ended, Failed, Cancelled)
		cancel()
	}()
	var media, signalling string
	var wg sync.WaitGroup
	c.mu.Lock()
	held := c.timers.held
	c.mu.Unlock()
	if !held {
		wg.Go(func() {
			if !c.hearsMediaNow() {
				media = "no RTP arrives"
			}
		})
	}
	wg.Go(func() {
		// A live peer never refuses, and a dead one does at the first keep-alive: a few
		// keep-alives (to survive loss) are enough.
		probe, stop := context.WithTimeout(gone, reachProbe)
		defer stop()
		if err := c.phone.probe(probe, peerAddr(c.peerTarget())); err != nil {
			signalling = fmt.Sprintf("its dialog's far end is %v", err)
		}
	})
	wg.Wait()
	why := media
	if signalling != "" {
		why = signalling
	}
	if why == "" {
		return ""
	}
	<-gone.Done()
	if c.State() != Established {
		return ""
	}
	return why
}
