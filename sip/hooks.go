package sip

// testHooks let tests force the interleavings of races (a CANCEL crossing a pickup's
// answer, the picker's pool failing as the pickup answers) instead of hoping for them. Each
// hook, when set, is called on the goroutine doing the work, at one point of it, and may
// block until the test has arranged the other side of the race. Production code never sets
// them.
type testHooks struct {
	// beforeCallerAnswer: the Call Park application is about to answer a picked-up call's
	// caller (callID is the caller's Call-ID).
	beforeCallerAnswer func(callID string)
	// beforePickerAnswer: the caller is answered and bridged; the picker (callID is the
	// picker's Call-ID) is about to be.
	beforePickerAnswer func(callID string)
	// afterPickerAnswer: the picker's 200 left and its ACK is awaited (Timer H runs).
	afterPickerAnswer func(callID string)
}

// hooks returns the network's test hooks (none in production).
func (rt *runtime) hooks() testHooks {
	if h := rt.pool.net.hooks.Load(); h != nil {
		return *h
	}
	return testHooks{}
}

func call(f func(string), id string) {
	if f != nil {
		f(id)
	}
}
