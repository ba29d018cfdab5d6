package sip

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Issue 9.4: races that left a phone in a call with nobody. Each test forces its
// interleaving with a hook that holds the Call Park application at one point of a pickup
// while the test makes the other side of the race happen, then checks what a user would
// notice and that nothing is left behind: no queue entry, no bridge (the active-calls
// gauge), no phone established to nobody. Run them repeated: go test -race -count=20
// -run Race ./sip/

// hold installs a hook that blocks at its point until release is called, and reports on
// reached when it gets there.
type hold struct {
	reached chan string
	release chan struct{}
}

func newHold() *hold { return &hold{reached: make(chan string, 1), release: make(chan struct{})} }

func (h *hold) at(callerID, _ string) {
	h.reached <- callerID
	<-h.release
}

// leftNothing checks that a pool holds no queued call and bridges no call.
func (l *lab) leftNothing(pool string) {
	l.t.Helper()
	p, _ := l.net.Pool(pool)
	eventually(l.t, "no bridged call left on "+pool, func() bool { return p.ActiveCalls() == 0 })
	assert.Empty(l.t, p.Queued(), "no queued call left on %s", pool)
}

// (a) The caller CANCELs just as a pickup answers, and its CANCEL wins: the caller's INVITE
// gets 487 before the Call Park application could answer it. The picker must not be
// connected: it is refused, with a warning that the call ended as it was picked up.
func TestRaceCallerCancelWinsOverThePickup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		topo  func() topologyT
		group string
	}{
		{"queue on the ringing pool", labTopology, "100"},
		{"queue on another pool: the pickup is handed over", crossPoolTopology, "300"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, tc.topo())
			l.registerAll("alice", "bob", "carol")
			h := newHold()
			l.net.armed.Store(&testHooks{beforeCallerAnswer: h.at})
			out, in := l.ring("alice", "bob")

			pick, err := l.phone("carol").Dial(tc.group)
			require.NoError(t, err)
			<-h.reached // the pickup took the call; the caller is about to be answered
			require.NoError(t, out.Hangup(ctx(t)))
			require.Equal(t, phone.Cancelled, out.State(), "the CANCEL won: 487")
			close(h.release)

			st, err := pick.WaitState(ctx(t), phone.Established, phone.Failed)
			require.NoError(t, err)
			require.Equal(t, phone.Failed, st, "the picker is not connected to nobody")
			assert.Equal(t, 404, pick.Outcome().Code)
			assert.Contains(t, pick.Outcome().Warning, "ended as it was being picked up")
			_, err = in.WaitState(ctx(t), phone.Cancelled)
			require.NoError(t, err)
			l.leftNothing(pool01)
			l.leftNothing(pool02)
		})
	}
}

// heldPickup rings bob from alice and makes carol dial group 100 with the pickup held just
// before it answers the picker (the caller's 200 is out).
func (l *lab) heldPickup() (h *hold, out, pick *phone.Call) {
	l.t.Helper()
	l.registerAll("alice", "bob", "carol")
	h = newHold()
	l.net.armed.Store(&testHooks{beforePickerAnswer: h.at})
	out, _ = l.ring("alice", "bob")
	pick, err := l.phone("carol").Dial("100")
	require.NoError(l.t, err)
	<-h.reached
	return h, out, pick
}

// (a) The 200 to the caller crosses its CANCEL: the CANCEL changes nothing (RFC 3261 9.2),
// the caller's phone gets the 200, acknowledges it and hangs up with a BYE. The Call Park
// application must then refuse the picker it had not answered yet.
func TestRaceCallerHangsUpAsThePickupAnswers(t *testing.T) {
	l := newLab(t, labTopology())
	h, out, pick := l.heldPickup() // the caller's 200 is out; the picker is about to be answered
	require.NoError(t, out.Hangup(ctx(t)))
	st, err := out.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
	require.Equal(t, phone.Ended, st, "the caller's phone ended the 200 it got with a BYE")
	close(h.release)

	st, err = pick.WaitState(ctx(t), phone.Established, phone.Failed)
	require.NoError(t, err)
	require.Equal(t, phone.Failed, st, "the picker is refused, not connected to nobody")
	assert.Contains(t, pick.Outcome().Warning, "ended as it was being picked up")
	l.leftNothing(pool01)
}

// (a) forced all the way: the caller's phone holds the 200 unread (phone.Call.HoldAnswer)
// from before the Call Park application sends it until its user hangs up, so its CANCEL
// crosses the 200 every time: the CANCEL is answered 200 (not 481) and the phone then
// acknowledges the 200 and hangs up with a BYE, never with a BYE alone.
func TestRaceCallerCancelCrossesThePickupsAnswer(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol")
	out, _ := l.ring("alice", "bob")
	var release func()
	h := newHold()
	l.net.armed.Store(&testHooks{beforeCallerAnswer: func(string, string) { release = out.HoldAnswer() }, beforePickerAnswer: h.at})
	var cancelAnswers []int
	var mu sync.Mutex
	stop := l.net.OnChange(func(c Change) {
		if c.Kind == ChangeResponse && c.Method == "CANCEL" {
			mu.Lock()
			cancelAnswers = append(cancelAnswers, c.Code)
			mu.Unlock()
		}
	})
	defer stop()
	pick, err := l.phone("carol").Dial("100")
	require.NoError(t, err)
	<-h.reached // the caller's 200 left; the phone holds it
	require.NotNil(t, release)
	// The 200 is on the phone's socket within a millisecond: held, it is not acted on.
	assert.Never(t, func() bool { return out.State() != phone.Ringing }, 50*time.Millisecond, time.Millisecond,
		"the phone holds its 200 unread until its user hangs up")
	require.NoError(t, out.Hangup(ctx(t)))
	assert.Equal(t, phone.Ended, out.State())
	assert.Equal(t, "answered as it was cancelled: acknowledged and hung up", out.EndReason())
	mu.Lock()
	assert.NotContains(t, cancelAnswers, 481, "the CANCEL that crossed the 200 is not refused")
	mu.Unlock()
	close(h.release)

	st, err := pick.WaitState(ctx(t), phone.Established, phone.Failed)
	require.NoError(t, err)
	require.Equal(t, phone.Failed, st, "the picker is refused, not connected to nobody")
	l.leftNothing(pool01)
}

// (a), other side: the picker hangs up as the pickup answers. The caller, already
// answered, gets a BYE instead of staying connected to nobody.
func TestRacePickerHangsUpAsThePickupAnswers(t *testing.T) {
	l := newLab(t, labTopology())
	h, out, pick := l.heldPickup()
	_, err := out.WaitState(ctx(t), phone.Established)
	require.NoError(t, err)
	require.NoError(t, pick.Hangup(ctx(t)))
	require.Equal(t, phone.Cancelled, pick.State())
	close(h.release)

	_, err = out.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
	assert.Equal(t, "remote", out.EndedBy(), "the Call Park application hung the caller up")
	l.leftNothing(pool01)
}

// (c) A ringing call whose caller and callee both vanished (killed, no CANCEL) leaves the
// queue when Timer C expires: the pool CANCELs the silent branch and answers 408, and the
// next picker finds nothing rather than a call nobody is on.
func TestRaceVanishedCallLeavesTheQueueAtTimerC(t *testing.T) {
	for _, topo := range []struct {
		name  string
		topo  func() topologyT
		group string
		owner string
	}{
		{"queue on the ringing pool", labTopology, "100", pool01},
		{"queue on another pool", crossPoolTopology, "300", pool02},
	} {
		t.Run(topo.name, func(t *testing.T) {
			l := newLab(t, topo.topo())
			l.registerAll("alice", "bob", "carol")
			l.ring("alice", "bob")
			require.Equal(t, 1, l.net.QueueLength(topo.group))
			l.phone("alice").Close()
			l.phone("bob").Close()

			l.clock.Advance(TimerC - 1)
			assert.Equal(t, 1, l.net.QueueLength(topo.group), "Timer C has not expired yet")
			l.clock.Advance(1)
			eventually(t, "the call leaves the queue", func() bool { return l.net.QueueLength(topo.group) == 0 })
			o := l.dialFails("carol", topo.group)
			assert.Equal(t, 404, o.Code)
			l.leftNothing(topo.owner)
			l.leftNothing(pool01)
		})
	}
}

// topologyT names the topology type for the table above.
type topologyT = topology.Topology

// slowRTPTimeout gives the phones an RTP timeout longer than Timer H, so that a test of the
// pool's Timer H sees the pool's BYE, not the phone's own media timeout (30 s < 64*T1).
func slowRTPTimeout(t topology.Topology) topology.Topology {
	t.Phones.RTPTimeout = 10 * time.Minute
	return t
}

// (c) A picker answering a caller who never acknowledges the 200 (the caller vanished as
// the pickup answered) gets a BYE once Timer H (64*T1) expires on the pool's clock.
func TestRacePickerOfACallerWhoNeverAcksGetsABye(t *testing.T) {
	l := newLab(t, slowRTPTimeout(labTopology()))
	l.registerAll("alice", "bob", "carol")
	l.ring("alice", "bob")
	l.phone("alice").Close()
	pick := l.pickUp("carol", "100", "alice")

	l.clock.Advance(timerH)
	_, err := pick.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
	assert.Equal(t, "remote", pick.EndedBy())
	l.leftNothing(pool01)
}

// (d) The picker's own pool fails just as the pickup is answered: the 200 it should relay
// never reaches the picker, who never acknowledges it. The caller must not stay connected
// to nobody, and the pool that bridged the call frees its entry, bridge and gauge.
func TestRacePickersPoolFailsAsThePickupAnswers(t *testing.T) {
	l := newLab(t, slowRTPTimeout(labTopology()))
	l.registerAll("alice", "bob", "erin") // erin is on pool02; group 100 is on pool01
	h := newHold()
	answered := make(chan string, 1)
	l.net.armed.Store(&testHooks{beforePickerAnswer: h.at, afterPickerAnswer: func(_, picker string) { answered <- picker }})
	out, _ := l.ring("alice", "bob")
	_, err := l.phone("erin").Dial("100")
	require.NoError(t, err)
	<-h.reached
	l.do(l.net.Outage, pool02)
	close(h.release)
	<-answered // the 200 left towards dead pool02; Timer H runs
	_, err = out.WaitState(ctx(t), phone.Established)
	require.NoError(t, err)

	l.clock.Advance(timerH)
	_, err = out.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
	assert.Equal(t, "remote", out.EndedBy())
	l.leftNothing(pool01)
}
