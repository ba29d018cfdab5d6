package phone

import "sync"

// heldAnswer is an outgoing call's 2xx held unread (HoldAnswer).
type heldAnswer struct {
	once sync.Once
	ch   chan struct{}
}

func (h *heldAnswer) release() { h.once.Do(func() { close(h.ch) }) }

// HoldAnswer makes the phone hold the 2xx that answers this outgoing call, unread, until
// its user hangs up (Hangup: the phone CANCELs, and acts on the 2xx once the CANCEL is
// answered) or release is called. It is how a replay rehearses "the caller hangs up just
// as the call is answered" with the 2xx crossing the CANCEL (RFC 3261 9.1, 9.2) every
// time: a phone that read the 2xx first would hang up with a BYE and no CANCEL, one that
// had not, with a CANCEL then ACK and BYE, as the scheduler chose.
func (c *Call) HoldAnswer() (release func()) {
	h := &heldAnswer{ch: make(chan struct{})}
	c.mu.Lock()
	c.held = h
	c.mu.Unlock()
	return h.release
}

// waitHeldAnswer returns once a 2xx the call holds (HoldAnswer) may be read.
func (c *Call) waitHeldAnswer() {
	c.mu.Lock()
	h := c.held
	c.mu.Unlock()
	if h != nil {
		<-h.ch
	}
}

// releaseHeldAnswer lets the call's 2xx be read, if it was held.
func (c *Call) releaseHeldAnswer() {
	c.mu.Lock()
	h := c.held
	c.mu.Unlock()
	if h != nil {
		h.release()
	}
}
