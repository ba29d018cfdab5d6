package runner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The capture's stamps: virtual time where the scenario's clock says, real time between
// its jumps, and never backwards.
func TestCaptureStampsReadInVirtualTime(t *testing.T) {
	real0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	virtual := Epoch
	s := newStamper(func() time.Time { return virtual }, real0)
	ms := time.Millisecond

	assert.Equal(t, Epoch.Add(5*ms), s.at(real0.Add(5*ms)), "a step's SIP: its virtual time plus the real time since")
	assert.Equal(t, Epoch.Add(25*ms), s.at(real0.Add(25*ms)), "RTP keeps its 20 ms spacing while the clock stands")

	virtual = Epoch.Add(4*time.Minute + 59*time.Second) // advance: 00:04:59
	assert.Equal(t, virtual, s.at(real0.Add(30*ms)), "the first packet after a jump is stamped at the jump")
	assert.Equal(t, virtual.Add(20*ms), s.at(real0.Add(50*ms)))

	virtual = virtual.Add(5 * ms) // a jump shorter than the 20 ms already spent since the last one
	got := s.at(real0.Add(51 * ms))
	assert.Equal(t, virtual.Add(15*ms), got, "the stamps do not go back: the short jump starts from the last stamp")
	assert.Equal(t, got, s.at(real0.Add(40*ms)), "a packet seen earlier in real time than the last one stamped gets the last stamp")
}
