package siputil

import (
	"sync"
	"sync/atomic"
)

// Background counts the requests a user agent sends of its own accord, in goroutines of
// their own (a BYE a timer decided, one a bridge passes on): a replay waits until none is
// left before it moves on, so that each is recorded under the step that set it off.
type Background struct {
	n atomic.Int64

	mu   sync.Mutex
	idle chan struct{} // closed when the count next falls to zero (Idle)
}

// Go runs send in the background, counted until it returns.
func (b *Background) Go(send func()) {
	b.n.Add(1)
	go func() {
		defer b.Release()
		send()
	}()
}

// Hold counts a send that is about to start elsewhere; its end calls Release. It is taken
// before the message that sets the send off is answered.
func (b *Background) Hold() { b.n.Add(1) }

// Release ends a send counted by Hold.
func (b *Background) Release() {
	if b.n.Add(-1) != 0 {
		return
	}
	b.mu.Lock()
	if b.idle != nil {
		close(b.idle)
		b.idle = nil
	}
	b.mu.Unlock()
}

// Count reports how many sends are under way.
func (b *Background) Count() int64 { return b.n.Load() }

// closed is a channel that is closed.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Idle returns a channel closed once no send is under way: at once if none is now. It may
// be closed while a send that began meanwhile is under way: check Count again.
func (b *Background) Idle() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n.Load() == 0 {
		return closed
	}
	if b.idle == nil {
		b.idle = make(chan struct{})
	}
	return b.idle
}
