package sip

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// Issue 9.4(b): a ring-back answered and hung up within milliseconds got 481, and the
// parked caller was then connected to nobody. The test stops the Call Park application
// right after the parker's answer (acknowledged, the parkee not re-INVITEd yet), has one
// party hang up there, then lets it go on: both legs must end, and the pool must hold
// nothing. Run it with -count=20 -race.
func TestRingBackHungUpAtOnceEndsBothLegs(t *testing.T) {
	for _, who := range []string{"parker", "parkee"} {
		t.Run("the "+who+" hangs up", func(t *testing.T) {
			l := newParkLab(t, nil)
			parked := parkForTimeout(t, l) // alice parked dave on pool01
			p1, _ := l.net.Pool(pool01)
			reached, release := make(chan struct{}), make(chan struct{})
			p1.runtime().parking.onRingBackAnswered = func() {
				close(reached)
				<-release
			}
			defer func() {
				select {
				case <-release:
				default:
					close(release)
				}
			}()

			l.clock.Advance(park.DefaultCallPickupTimeoutThreshold)
			ring, err := l.phone("alice").NextIncoming(ctx(t))
			require.NoError(t, err)
			require.NoError(t, ring.Answer())
			l.established(ring)
			select {
			case <-reached:
			case <-time.After(5 * time.Second):
				t.Fatal("the ring-back's answer never reached the Call Park application")
			}

			hangingUp, other := ring, parked
			if who == "parkee" {
				hangingUp, other = parked, ring
			}
			require.NoError(t, hangingUp.Hangup(ctx(t)), "the BYE is answered 200, not 481")
			close(release)

			_, err = other.WaitState(ctx(t), phone.Ended)
			require.NoError(t, err, "the other party is hung up, not left connected to nobody")
			assert.Equal(t, "remote", other.EndedBy())
			assert.Empty(t, p1.ParkedCalls())
			eventually(t, "no call left bridged", func() bool { return p1.ActiveCalls() == 0 })
		})
	}
}

// The parkee hanging up while the ring-back rings frees the orbit and cancels the ring.
func TestRingBackCancelledWhenTheParkeeHangsUp(t *testing.T) {
	l := newParkLab(t, nil)
	parked := parkForTimeout(t, l)
	p1, _ := l.net.Pool(pool01)
	l.clock.Advance(park.DefaultCallPickupTimeoutThreshold)
	ring, err := l.phone("alice").NextIncoming(ctx(t))
	require.NoError(t, err)
	require.NoError(t, parked.Hangup(ctx(t)))
	_, err = ring.WaitState(ctx(t), phone.Cancelled)
	require.NoError(t, err, "the parker's phone stops ringing")
	assert.Empty(t, p1.ParkedCalls())
	assert.Zero(t, p1.ActiveCalls())
}
