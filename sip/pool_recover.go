package sip

// A pool that stopped may still send: a goroutine of its runtime relaying an answer, a
// CANCEL or a BYE as it was shut down sends from the pool's address after the listener
// closed, and sipgo's UDP transport then binds a new socket on that address for it, which
// nothing closes. The recovery would fail with "address already in use" (the 20,000-user
// load rehearsal hit it about one run in three). So the stopped runtime is kept, and its
// user agent closed once more when the pool starts again: that clears the sockets its
// transport opened since.

// releaseStopped closes what the runtime of the last outage still holds. p.mu is held.
func (p *Pool) releaseStopped() {
	if p.stopped != nil {
		p.stopped.ua.Close()
		p.stopped = nil
	}
}
