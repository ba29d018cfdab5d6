package sip

import (
	"bytes"
	"sync"
	"time"
)

// ackOrder keeps a dialog's requests in the order they reached a pool's UDP socket, where
// it matters: an ACK and the BYE (or REFER, INFO...) a phone sends right after it. sipgo
// handles each datagram on its own goroutine, so under load the pool relayed a BYE ahead
// of the ACK that had reached it 11.5 ms earlier (issue 14, seen in a capture); the callee
// then gets a BYE for a dialog it has not seen confirmed. RFC 3261 leaves UDP unordered
// but a proxy should not add disorder of its own, and Kamailio does not.
//
// The socket's reader notes each ACK as it reads it (before sipgo parses it), the ACK
// handler says when it is done, and an in-dialog request of the same Call-ID waits for
// the ACKs read before it. An ACK for a non-2xx answer is absorbed by sipgo's transaction
// (RFC 3261 17.2.1) and never reaches a handler: a request waits for an ACK at most
// ackWaitLimit after it was read, and such notes are forgotten after that. This is
// scheduling, not a decision: real time is right here, and a replay's outcome never
// depends on it.
//
// TCP and TLS keep their order on the connection, but sipgo forks there too: this covers
// UDP, the transport of every storm measured.
type ackOrder struct {
	mu      sync.Mutex
	pending map[string]*pendingAcks // Call-ID -> ACKs read and not handled yet
	reads   int
}

// pendingAcks are the ACKs of one Call-ID in flight; done is closed when none is left.
type pendingAcks struct {
	n    int
	last time.Time // when the latest of them was read
	done chan struct{}
}

// ackWaitLimit bounds the wait for an ACK that will never reach a handler.
const ackWaitLimit = 500 * time.Millisecond

func newAckOrder() *ackOrder { return &ackOrder{pending: map[string]*pendingAcks{}} }

// read notes datagram b, as the socket delivers it, if it is an ACK.
func (o *ackOrder) read(b []byte) {
	if !bytes.HasPrefix(b, []byte("ACK ")) {
		return
	}
	id := rawCallID(b)
	if id == "" {
		return
	}
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reads++
	if o.reads%1024 == 0 { // forget absorbed ACKs, so the table stays as small as the traffic of ackWaitLimit
		for k, p := range o.pending {
			if now.Sub(p.last) > ackWaitLimit {
				close(p.done)
				delete(o.pending, k)
			}
		}
	}
	p := o.pending[id]
	if p == nil || now.Sub(p.last) > ackWaitLimit {
		if p != nil {
			close(p.done)
		}
		p = &pendingAcks{done: make(chan struct{})}
		o.pending[id] = p
	}
	p.n++
	p.last = now
}

// handled says that an ACK of Call-ID id has been dealt with (passed on or dropped).
func (o *ackOrder) handled(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p := o.pending[id]
	if p == nil {
		return
	}
	if p.n--; p.n <= 0 {
		close(p.done)
		delete(o.pending, id)
	}
}

// waitAcks returns once the ACKs of Call-ID id read so far are handled, or at most
// ackWaitLimit after the latest of them was read.
func (o *ackOrder) waitAcks(id string) {
	o.mu.Lock()
	p := o.pending[id]
	o.mu.Unlock()
	if p == nil {
		return
	}
	left := ackWaitLimit - time.Since(p.last)
	if left <= 0 {
		return
	}
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
	}
}

// rawCallID finds the Call-ID (or compact "i") header's value in a raw SIP message,
// without parsing the rest.
func rawCallID(b []byte) string {
	head, _, _ := bytes.Cut(b, []byte("\r\n\r\n"))
	for len(head) > 0 {
		var line []byte
		line, head, _ = bytes.Cut(head, []byte("\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("Call-ID")) || bytes.EqualFold(name, []byte("i")) {
			return string(bytes.TrimSpace(value))
		}
	}
	return ""
}
