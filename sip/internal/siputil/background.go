package siputil

import "sync/atomic"

// Background counts the requests a user agent sends of its own accord, in goroutines of
// their own (a BYE a timer decided, one a bridge passes on): a replay waits until none is
// left before it moves on, so that each is recorded under the step that set it off.
type Background struct{ n atomic.Int64 }

// Go runs send in the background, counted until it returns.
func (b *Background) Go(send func()) {
	b.n.Add(1)
	go func() {
		defer b.n.Add(-1)
		send()
	}()
}

// Hold counts a send that is about to start elsewhere; its end calls Release. It is taken
// before the message that sets the send off is answered.
func (b *Background) Hold() { b.n.Add(1) }

// Release ends a send counted by Hold.
func (b *Background) Release() { b.n.Add(-1) }

// Count reports how many sends are under way.
func (b *Background) Count() int64 { return b.n.Load() }
