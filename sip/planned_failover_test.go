package sip

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Issue 9.5: Invoke-CsPoolFailOver without -DisasterMode fails over a pool that still runs
// (maintenance). pool01 keeps answering, but stops serving its users: they sign in to pool02
// (301 from pool01), in resiliency mode until the failover completes. Its Call Park
// application stops: the call queued for pickup is lost (it still rings bob), the parked
// call is disconnected with 35012; the call established phone to phone and the call pool01
// bridged stay connected. From there the seed's table applies.
func TestPlannedFailoverOfARunningPool(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("alice", "bob", "carol", "dave", "erin", "frank")
	talk, talkIn := l.connect("dave", "erin")
	l.park("alice", "frank") // frank (pool02's user) parked on pool01 by alice
	parked := l.parkedLeg("frank")
	_, ringing := l.ring("carol", "bob")
	require.Equal(t, 1, l.net.QueueLength("100"))

	require.NoError(t, l.net.InvokePlannedFailOver(pool01))
	p1, _ := l.net.Pool(pool01)
	assert.True(t, p1.Up(), "a planned failover leaves the pool answering")
	assert.Empty(t, p1.Registered(), "its users are signed out")
	assert.Zero(t, l.net.QueueLength("100"), "calls queued when failover starts can never be picked up")
	assert.Equal(t, phone.Ringing, ringing.State(), "the call still rings its callee")
	assert.Empty(t, p1.ParkedCalls(), "no parked calls during failover")
	_, err := parked.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err, "the parked call is disconnected")
	assert.Equal(t, "remote", parked.EndedBy())
	mediaFlows(t, talk, talkIn, 5)

	// The users move: pool01 redirects them, pool02 takes them in resiliency mode.
	l.reregister(topology.Resiliency, pool02, "alice", "carol", "dave")
	o := l.dialFails("erin", "100")
	assert.Equal(t, 503, o.Code, "the range still points at pool01, whose Call Park application stopped")
	assert.Equal(t, topology.DiagCannotForward, o.Diagnostic)
	assert.Contains(t, o.Warning, "failing-over")

	require.NoError(t, l.net.CompleteFailOver(pool01))
	l.reregister(topology.NormalMode, pool02, "alice", "bob", "carol")
	require.NoError(t, l.net.RedirectCallParkOrbit("pickup-pool01", pool02))
	l.ring("alice", "bob")
	l.pickUp("carol", "100", "alice")

	require.NoError(t, l.net.InvokeFailBack(pool01))
	require.NoError(t, l.net.CompleteFailBack(pool01))
	l.reregister(topology.NormalMode, pool01, "alice", "bob", "carol")
	mediaFlows(t, talk, talkIn, 5)
}

// A planned failover needs the pool running; a pool that stopped answering is failed over
// with -DisasterMode, and the refusal says so and changes nothing.
func TestPlannedFailoverOfAPoolThatIsDownIsRefused(t *testing.T) {
	l := newLab(t, labTopology())
	require.NoError(t, l.net.Outage(pool01))
	err := l.net.InvokePlannedFailOver(pool01)
	require.ErrorIs(t, err, topology.ErrIllegalTransition)
	assert.Contains(t, err.Error(), "failed over with -DisasterMode")
	err = l.net.InvokeFailOver(pool01)
	require.NoError(t, err)
}

// Timer C restarts with every provisional response (RFC 3261 16.7 step 2).
func TestBranchTimerRestartsOnReset(t *testing.T) {
	vc := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := newBranchTimer(vc, TimerC)
	vc.Advance(TimerC - time.Second)
	b.reset()
	vc.Advance(TimerC - time.Second)
	select {
	case <-b.C:
		t.Fatal("fired although reset")
	default:
	}
	vc.Advance(time.Second)
	select {
	case <-b.C:
	default:
		t.Fatal("did not fire a full TimerC after the reset")
	}
	b.stop()
}

// Issue 9.6: failing over a pool that has no backup says so, whether the pool runs or not
// and whichever kind of failover is asked for.
func TestFailoverOfAPoolWithoutBackupSaysSo(t *testing.T) {
	topo := labTopology()
	topo.Pools = append(topo.Pools, topology.Pool{FQDN: "pool03.contoso.com"})
	l := newLab(t, topo)
	for _, down := range []bool{false, true} {
		if down {
			require.NoError(t, l.net.Outage("pool03.contoso.com"))
		}
		for _, op := range []func(string) error{l.net.InvokeFailOver, l.net.InvokePlannedFailOver} {
			err := op("pool03.contoso.com")
			require.ErrorIs(t, err, topology.ErrIllegalTransition)
			assert.Contains(t, err.Error(), "it has no backup pool")
		}
	}
}
