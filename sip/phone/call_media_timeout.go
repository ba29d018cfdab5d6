package phone

import (
	"context"
	"errors"
	"fmt"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/media"
)

// The phone's RTP inactivity timeout: how a desk phone learns that the far end of a call
// died without a BYE (its pool failed, its cable was pulled). An established call that
// hears no RTP for the phone's RTPTimeout (30 s by default) is hung up, with the reason
// "no media for 30s". Held calls are exempt: when either side's SDP says sendonly,
// recvonly or inactive, silence is intended.
//
// The timer runs on the phone's clock, which in a replay is virtual, while RTP flows in
// real time: "advance: 5m" fires the timers of five minutes at once. So a deadline does
// not ask "was there RTP in the last 30 s?" (seconds that pass in a jump of virtual time
// hold no packets) but "is RTP arriving now?". It waits for one packet that arrives more
// than half a packet interval after the deadline fell due (sooner, it may be one already
// on its way from a sender that just stopped), at most mediaProbe of real time. A live
// stream answers within a packet interval, so a jump of virtual time never ends a live
// call; a dead one is silent, and the call ends when the deadline fires. The phone checks
// its media RTPTimeout after the call is set up, then RTPTimeout after each check that
// found it flowing, so a call whose far end died ends within RTPTimeout of it, in the
// scenario's time. One answer holds for every deadline of the same jump
// (clock.Virtual.Advances): no real time passed for the world to change.

// mediaProbe bounds the real-time wait for a packet at an RTP deadline: 25 packet
// intervals, so neither packet loss (25 losses in a row at 10 % loss: 1e-25) nor a busy
// scheduler is taken for a dead line.
const mediaProbe = 25 * media.Ptime

// callTimers are a call's timers, guarded by the call's lock.
type callTimers struct {
	held     bool        // the SDP says the call is on hold: no RTP timeout
	media    clock.Timer // the next RTP deadline
	heardIn  uint64      // the clock jump in which RTP was last found arriving
	silentIn uint64      // the clock jump in which RTP was last found silent
	session  *sessionTimer
}

// jumps is what the virtual clock tells of its jumps (clock.Virtual.Advances).
type jumps interface{ Advances() uint64 }

// watchMedia re-arms the call's RTP deadline, unless the call is over.
func (c *Call) watchMedia() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == Established {
		c.armMediaLocked()
	}
}

// armMediaLocked arms (or re-arms) the call's RTP deadline, unless it is held. c.mu is
// held.
func (c *Call) armMediaLocked() {
	if c.timers.media != nil {
		c.timers.media.Stop()
		c.timers.media = nil
	}
	if c.timers.held || c.phone.rtpLimit <= 0 {
		return
	}
	c.timers.media = c.phone.clock.AfterFunc(c.phone.rtpLimit, c.mediaDeadline)
}

// mediaDeadline runs when the RTP deadline falls due: the call goes on if RTP arrives
// now, and ends otherwise.
func (c *Call) mediaDeadline() {
	if c.State() != Established {
		return
	}
	if c.hearsMedia() {
		c.watchMedia()
		return
	}
	c.endNow(fmt.Sprintf("no media for %s", c.phone.rtpLimit))
}

// hearsMedia reports whether RTP is arriving on the call now.
func (c *Call) hearsMedia() bool {
	j, virtual := c.phone.clock.(jumps)
	var jump uint64
	if virtual {
		jump = j.Advances()
		c.mu.Lock()
		heard, silent := c.timers.heardIn == jump, c.timers.silentIn == jump
		c.mu.Unlock()
		switch {
		case jump != 0 && heard:
			return true
		case jump != 0 && silent:
			return false
		}
	}
	heard := c.hearsMediaNow()
	if virtual {
		c.mu.Lock()
		if heard {
			c.timers.heardIn = jump
		} else {
			c.timers.silentIn = jump
		}
		c.mu.Unlock()
	}
	return heard
}

// hearsMediaNow waits for RTP to arrive on the call now, at most mediaProbe, unless the
// network says first that nothing listens at the far end's RTP address (reach.go's probe:
// an ICMP port unreachable, as when the pool that played music on hold is down). RTP is
// symmetric here, one socket sending and receiving, so a far end that receives nothing
// sends nothing either: the answer does not wait for 25 silent packet intervals.
func (c *Call) hearsMediaNow() bool {
	ctx, cancel := context.WithTimeout(context.Background(), mediaProbe)
	defer cancel()
	heard := make(chan bool, 2)
	go func() { heard <- c.Media.WaitNext(ctx, media.Ptime/2) == nil }()
	if far := c.RemoteMedia(); far.IsValid() && far.Port() != 0 {
		go func() {
			if errors.Is(c.phone.probe(ctx, far.String()), ErrUnreachable) {
				heard <- false
			}
		}()
	}
	return <-heard
}

// endNow ends an established call on this phone's own decision (a timer), then tells the
// other party with a BYE in the background: the timer's decision does not wait on the
// network, and a dead far end never answers.
func (c *Call) endNow(reason string) {
	if !c.setState(Ended, func(c *Call) { c.endedBy, c.endReason = "local", reason }) {
		return
	}
	c.phone.sendOnOwn(func() {
		ctx, cancel := context.WithTimeout(context.Background(), siputil.TransactionTimeout())
		defer cancel()
		c.bye(ctx)
	})
}

// stopTimers stops the call's timers (it ended, or its phone was unplugged).
func (c *Call) stopTimers() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timers.media != nil {
		c.timers.media.Stop()
		c.timers.media = nil
	}
	if s := c.timers.session; s != nil && s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// isHeld reports whether an SDP body puts its audio on hold (RFC 3264 §8.4: sendonly,
// recvonly or inactive, or an old-style c=0.0.0.0).
func isHeld(sdp []byte) bool {
	a, err := media.ParseAudio(sdp)
	if err != nil {
		return false
	}
	return a.Direction != "sendrecv" || a.Addr.Addr().IsUnspecified()
}
