package sip

import "sync"

// testHooks let tests force the interleavings of races (a CANCEL crossing a pickup's
// answer, the picker's pool failing as the pickup answers) instead of hoping for them. Each
// hook, when set, is called on the goroutine doing the work, at one point of it, with the
// Call-IDs of the picked-up call's caller and of the picker, and may block until the test has
// arranged the other side of the race. Nothing sets them but tests and AtPickup.
type testHooks struct {
	// beforeCallerAnswer: the pickup took the call; its caller is about to be answered.
	beforeCallerAnswer func(callerID, pickerID string)
	// beforePickerAnswer: the caller is answered and bridged; the picker is about to be.
	beforePickerAnswer func(callerID, pickerID string)
	// afterPickerAnswer: the picker's 200 left and its ACK is awaited (Timer H runs).
	afterPickerAnswer func(callerID, pickerID string)
	// callerTxEnded: the picked-up caller's INVITE transaction ended after its 2xx (the
	// caller's BYE ends it: sipgo's DialogServerSession.ReadBye), before Timer L.
	callerTxEnded func(callerID, pickerID string)
	// beforeAckRelay: an ACK a phone sent through the pool is about to be passed on (the
	// Call-ID is the first argument; the second is empty).
	beforeAckRelay func(callID, _ string)
	// loseSent: a pool is about to send datagram to addr over UDP; true loses it, as a
	// lossy network would (transport.go), so a test can pick which message goes missing.
	loseSent func(datagram []byte, addr string) bool
}

func call(f func(string, string), callerID, pickerID string) {
	if f != nil {
		f(callerID, pickerID)
	}
}

// PickupPoint is a moment of a Group Call Pickup at which a replay can make something
// happen, to rehearse a race deterministically rather than by luck.
type PickupPoint int

// The points.
const (
	// BeforeCallerAnswered: the pickup took the call; the Call Park application is about to
	// answer its caller. A caller who hangs up now wins: its INVITE gets 487.
	BeforeCallerAnswered PickupPoint = iota
	// BeforePickerAnswered: the caller's 200 has left; the picker is about to be answered. A
	// caller who hangs up now got the 200 across its CANCEL, and ends it with a BYE.
	BeforePickerAnswered
)

// AtPickup runs f once, at point of the next Group Call Pickup, with the Call-ID of the
// picked-up call's caller; the pickup waits until f returns. A nil f disarms the point.
// Scenario replays use it to rehearse "the caller hangs up just as the pickup answers".
func (n *Network) AtPickup(point PickupPoint, f func(callerCallID string)) {
	var once sync.Once
	var h func(string, string)
	if f != nil {
		h = func(callerID, _ string) { once.Do(func() { f(callerID) }) }
	}
	hooks := testHooks{}
	if old := n.armed.Load(); old != nil {
		hooks = *old
	}
	switch point {
	case BeforeCallerAnswered:
		hooks.beforeCallerAnswer = h
	case BeforePickerAnswered:
		hooks.beforePickerAnswer = h
	}
	n.armed.Store(&hooks)
}
