package media

import (
	"net/netip"
	"sync/atomic"
)

// Tap sees a datagram a Stream sent (sent) or received, as it was on the wire: from and to
// are the UDP addresses, b the datagram. b is only valid during the call. A tap runs on the
// stream's goroutines, the sender's lock held: it must return quickly and must not call the
// stream.
type Tap func(from, to netip.AddrPort, b []byte, sent bool)

// tap is the installed Tap, if any. One per process, like sipgo's SIP tracer, which is what
// it completes: a capture needs the media of the calls whose SIP the tracer shows.
var tap atomic.Pointer[Tap]

// SetTap installs t for every stream of the process, or removes the tap when t is nil.
// Without a tap a stream pays one atomic load per datagram.
func SetTap(t Tap) {
	if t == nil {
		tap.Store(nil)
		return
	}
	tap.Store(&t)
}

// tapped hands a datagram to the installed tap.
func tapped(from, to netip.AddrPort, b []byte, sent bool) {
	if t := tap.Load(); t != nil {
		(*t)(from, to, b, sent)
	}
}
