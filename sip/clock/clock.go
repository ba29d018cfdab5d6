// Package clock gives the simulator one notion of time that can be real (lab mode) or
// virtual (tests and scenario replays), so a 300 s registrar failover timer or a 90 s park
// timeout costs no real time when replayed.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock is the time source every timer of the simulator uses.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once d has elapsed on this clock.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call; it reports whether it was still pending.
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

// Now returns the wall-clock time.
func (Real) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Virtual is a clock that only moves when told to. Timers that fall due during an Advance
// run synchronously inside it, in deadline order, so a replay is deterministic: when
// Advance returns, every callback due by then has run (and any timer a callback scheduled
// inside the window has run too).
type Virtual struct {
	mu       sync.Mutex
	now      time.Time
	seq      uint64
	advances uint64
	timers   []*virtualTimer
	settle   func() // runs after each timer fires (SetSettle)
}

type virtualTimer struct {
	c       *Virtual
	at      time.Time
	seq     uint64
	f       func()
	stopped bool
}

// NewVirtual returns a virtual clock that starts at start.
func NewVirtual(start time.Time) *Virtual { return &Virtual{now: start} }

// Now returns the virtual time.
func (c *Virtual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d.
func (c *Virtual) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &virtualTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop cancels the timer.
func (t *virtualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.stopped {
		return false
	}
	t.stopped = true
	return true
}

// Advance moves the clock forward by d and fires the timers that fall due, in deadline
// order; it returns how many fired. Each fires with the clock set to its own deadline, so
// a callback that reads Now() sees the time it was scheduled for.
func (c *Virtual) Advance(d time.Duration) int {
	c.mu.Lock()
	end := c.now.Add(d)
	c.advances++
	c.mu.Unlock()
	fired := 0
	for {
		c.mu.Lock()
		t := c.nextDueLocked(end)
		if t == nil {
			c.now = end
			c.mu.Unlock()
			return fired
		}
		t.stopped = true
		if t.at.After(c.now) {
			c.now = t.at
		}
		settle := c.settle
		c.mu.Unlock()
		t.f()
		fired++
		if settle != nil {
			settle()
		}
	}
}

// SetSettle makes Advance call settle after each timer it fires, before the clock moves
// on: a replay waits there until what the timer set off on the network is done, so that
// it happens at the timer's deadline, not at a later one's.
func (c *Virtual) SetSettle(settle func()) {
	c.mu.Lock()
	c.settle = settle
	c.mu.Unlock()
}

// Advances counts the Advance calls begun so far. Timers that fire under one count fire
// in one jump of virtual time, with no step of the scenario in between: a check of the
// real world (is RTP arriving?) made by one of them holds for the others, since the world
// had no real time to change.
func (c *Virtual) Advances() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.advances
}

// Pending reports how many timers have not fired or been stopped.
func (c *Virtual) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.compactLocked()
	return len(c.timers)
}

func (c *Virtual) nextDueLocked(end time.Time) *virtualTimer {
	c.compactLocked()
	sort.Slice(c.timers, func(i, j int) bool {
		if c.timers[i].at.Equal(c.timers[j].at) {
			return c.timers[i].seq < c.timers[j].seq
		}
		return c.timers[i].at.Before(c.timers[j].at)
	})
	if len(c.timers) == 0 || c.timers[0].at.After(end) {
		return nil
	}
	return c.timers[0]
}

func (c *Virtual) compactLocked() {
	live := c.timers[:0]
	for _, t := range c.timers {
		if !t.stopped {
			live = append(live, t)
		}
	}
	c.timers = live
}
