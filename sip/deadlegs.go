package sip

import (
	"context"
	"errors"
	"sync"
	"time"
)

// DeadLegHorizon is how long the phones' timers need to end every call whose far end
// died: a session interval (a refresh is due within half of it, the other side's expiry
// within all of it), longer than any RTP timeout a topology sets in practice.
func (n *Network) DeadLegHorizon() time.Duration {
	rtp := n.phoneCfg.RTPTimeout
	if rtp == 0 {
		rtp = DefaultRTPTimeout
	}
	return max(SessionExpires, rtp) + time.Second
}

// CheckNoDeadLegs verifies the "no dead legs" invariant on every simulated phone of the
// network: every established call has a live far end (RTP arrives, its dialog's peer is
// reachable). Run it once the clock has moved DeadLegHorizon past the last event: a leg
// whose far end died must have ended by then; ctx bounds the wait for calls that are
// ending as it looks. Tests run it after every SIP test, replays after every scenario.
func (n *Network) CheckNoDeadLegs(ctx context.Context) error {
	n.phonesMu.Lock()
	phones := append([]*Phone(nil), n.phones...)
	n.phonesMu.Unlock()
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, ph := range phones {
		wg.Go(func() {
			dead := ph.DeadLegs(ctx)
			mu.Lock()
			errs = append(errs, dead...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
