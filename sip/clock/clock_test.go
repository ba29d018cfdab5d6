package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestVirtualFiresTimersInDeadlineOrderAtTheirDeadline(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewVirtual(start)
	var got []time.Duration
	record := func() { got = append(got, c.Now().Sub(start)) }
	c.AfterFunc(300*time.Second, record)
	c.AfterFunc(90*time.Second, record)
	stopped := c.AfterFunc(100*time.Second, record)
	assert.True(t, stopped.Stop())
	assert.False(t, stopped.Stop(), "a second Stop reports nothing pending")

	assert.Equal(t, 1, c.Advance(200*time.Second))
	assert.Equal(t, []time.Duration{90 * time.Second}, got)
	assert.Equal(t, 200*time.Second, c.Now().Sub(start))
	assert.Equal(t, 1, c.Pending())

	assert.Equal(t, 1, c.Advance(100*time.Second))
	assert.Equal(t, []time.Duration{90 * time.Second, 300 * time.Second}, got)
}

func TestVirtualTimerScheduledByACallbackFiresInTheSameAdvance(t *testing.T) {
	c := NewVirtual(time.Unix(0, 0))
	fired := 0
	c.AfterFunc(10*time.Second, func() {
		fired++
		c.AfterFunc(10*time.Second, func() { fired++ })
	})
	assert.Equal(t, 2, c.Advance(30*time.Second))
	assert.Equal(t, 2, fired)
}

func TestVirtualCountsItsJumps(t *testing.T) {
	c := NewVirtual(time.Unix(0, 0))
	var seen []uint64
	c.AfterFunc(time.Second, func() { seen = append(seen, c.Advances()) })
	c.AfterFunc(2*time.Second, func() { seen = append(seen, c.Advances()) })
	c.AfterFunc(4*time.Second, func() { seen = append(seen, c.Advances()) })
	assert.Zero(t, c.Advances())
	c.Advance(3 * time.Second)
	c.Advance(3 * time.Second)
	assert.Equal(t, []uint64{1, 1, 2}, seen, "timers of one Advance see one count")
}

// A replay settles the network after each timer, at the timer's deadline, before the
// clock moves on to the next one.
func TestVirtualSettlesAfterEachTimerAtItsDeadline(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewVirtual(start)
	var log []string
	c.AfterFunc(2*time.Second, func() { log = append(log, "fire 2s") })
	c.AfterFunc(time.Second, func() { log = append(log, "fire 1s") })
	c.SetSettle(func() { log = append(log, "settle at "+c.Now().Sub(start).String()) })
	assert.Equal(t, 2, c.Advance(time.Minute))
	assert.Equal(t, []string{"fire 1s", "settle at 1s", "fire 2s", "settle at 2s"}, log)
}
