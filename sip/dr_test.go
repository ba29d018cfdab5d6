package sip

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// The tests in this file are the seed's table, "User Experience During Disaster
// Recovery", row by row; each sub-test is one cell, walked in the order of a real runbook.
// Pool01 fails; its users alice, bob and carol (bob and carol in group 100, whose range is
// on pool01) go to pool02; erin and frank are pool02's own users.

func TestSeedTableNewCalls(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol", "erin")

	t.Run("during failover: Group Call Pickup not available for users in resiliency mode", func(t *testing.T) {
		l := l.in(t)
		l.outageAndTimer()
		l.do(l.net.InvokeFailOver, pool01)
		l.reregister(topology.Resiliency, pool02, "alice", "bob", "carol")

		// The administrator redirects the range early, so only resiliency mode stands in the way.
		require.NoError(t, l.net.RedirectCallParkOrbit("pickup-pool01", pool02))
		out, in := l.ring("alice", "bob")
		assert.Zero(t, l.net.QueueLength("100"), "a call to a user in resiliency mode is not queued")

		o := l.dialFails("carol", "100")
		assert.Equal(t, 480, o.Code, "a user in resiliency mode cannot pick up")
		assert.Contains(t, o.Warning, "resiliency mode")

		o = l.dialFails("erin", "100")
		assert.Equal(t, 480, o.Code, "a user in resiliency mode cannot have its calls picked up")
		assert.Contains(t, o.Warning, "the call ringing bob in group call pickup group 100 cannot be picked up: bob is in resiliency mode",
			"the refusal names the cause, not \"no call is ringing\" while bob's phone rings")
		require.NoError(t, out.Hangup(ctx(t)))
		_, err := in.WaitState(ctx(t), phone.Cancelled)
		require.NoError(t, err)
		require.NoError(t, l.net.RedirectCallParkOrbit("pickup-pool01", pool01))
	})

	t.Run("after failover: available once out of resiliency and ranges redirected to backup", func(t *testing.T) {
		l := l.in(t)
		l.do(l.net.CompleteFailOver, pool01)
		l.reregister(topology.NormalMode, pool02, "alice", "bob", "carol")

		out, _ := l.ring("alice", "bob")
		o := l.dialFails("carol", "100")
		assert.Equal(t, 503, o.Code, "ranges not redirected: group numbers route to the dead pool")
		assert.Equal(t, topology.DiagCannotForward, o.Diagnostic)
		require.NoError(t, out.Hangup(ctx(t)))

		require.NoError(t, l.net.RedirectCallParkOrbit("pickup-pool01", pool02))
		l.ring("alice", "bob")
		assert.Equal(t, 1, l.net.QueueLength("100"))
		picked := l.pickUp("carol", "100", "alice")
		require.NoError(t, picked.Hangup(ctx(t)))
	})

	t.Run("during failback: Group Call Pickup not available for users in resiliency mode", func(t *testing.T) {
		l := l.in(t)
		l.do(l.net.Recover, pool01)
		l.do(l.net.InvokeFailBack, pool01)
		l.reregister(topology.Resiliency, pool01, "alice", "bob", "carol")

		out, _ := l.ring("alice", "bob")
		assert.Zero(t, l.net.QueueLength("100"))
		o := l.dialFails("carol", "100")
		assert.Equal(t, 480, o.Code)
		assert.Contains(t, o.Warning, "resiliency mode")
		require.NoError(t, out.Hangup(ctx(t)))
	})

	t.Run("after failback: available once out of resiliency and ranges redirected back to primary", func(t *testing.T) {
		l := l.in(t)
		l.do(l.net.CompleteFailBack, pool01)
		l.reregister(topology.NormalMode, pool01, "alice", "bob", "carol")

		// The range still points at pool02: not yet available (seed: "Group Call Pickup
		// number ranges are redirected back to primary pool"), and the refusal says what to run.
		out, _ := l.ring("alice", "bob")
		assert.Zero(t, l.net.QueueLength("100"), "no queue holds bob's call")
		o := l.dialFails("carol", "100")
		assert.Equal(t, 503, o.Code)
		assert.Equal(t, topology.DiagCannotForward, o.Diagnostic)
		assert.Contains(t, o.Warning, "Set-CsCallParkOrbit -Identity pickup-pool01 -CallParkService "+pool01)
		require.NoError(t, out.Hangup(ctx(t)))

		// The runbook step brings the queue home.
		require.NoError(t, l.net.RedirectCallParkOrbit("pickup-pool01", pool01))
		l.ring("alice", "bob")
		p1, _ := l.net.Pool(pool01)
		require.Len(t, p1.Queued()["100"], 1)
		assert.Empty(t, p1.Queued()["100"][0].Holder)
		l.pickUp("carol", "100", "alice")
	})
}

func TestSeedTableCallsInGroupCallPickupQueue(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol", "erin")

	t.Run("during failover: calls in queue cannot be answered through Group Call Pickup", func(t *testing.T) {
		l := l.in(t)
		l.ring("alice", "bob")
		require.Equal(t, 1, l.net.QueueLength("100"))
		l.outageAndTimer()
		l.do(l.net.InvokeFailOver, pool01)
		l.reregister(topology.Resiliency, pool02, "carol")

		assert.Equal(t, 480, l.dialFails("carol", "100").Code, "the group's own member is in resiliency mode")
		assert.Equal(t, 503, l.dialFails("erin", "100").Code, "the queue was held by the pool that is down")
	})

	t.Run("after failover: no calls in this state", func(t *testing.T) {
		l := l.in(t)
		l.do(l.net.CompleteFailOver, pool01)
		require.NoError(t, l.net.RedirectCallParkOrbit("pickup-pool01", pool02))
		l.reregister(topology.NormalMode, pool02, "alice", "bob", "carol")
		o := l.dialFails("carol", "100")
		assert.Equal(t, 404, o.Code, "the queued call was lost with pool01")
		assert.Equal(t, topology.DiagOrbitNotFound, o.Diagnostic)
	})

	t.Run("during failback: calls in queue cannot be answered through Group Call Pickup", func(t *testing.T) {
		l := l.in(t)
		_, ringing := l.ring("alice", "bob")
		require.Equal(t, 1, l.net.QueueLength("100"))
		l.do(l.net.Recover, pool01)
		l.do(l.net.InvokeFailBack, pool01)
		assert.Zero(t, l.net.QueueLength("100"), "failback drops the moved users' queued calls")
		l.reregister(topology.Resiliency, pool01, "carol")

		assert.Equal(t, 480, l.dialFails("carol", "100").Code)
		assert.Equal(t, 404, l.dialFails("erin", "100").Code, "the queue on pool02 no longer holds the call")
		assert.Equal(t, phone.Ringing, ringing.State(), "the call still rings its callee")
	})

	t.Run("after failback: calls in queue cannot be answered through Group Call Pickup", func(t *testing.T) {
		l := l.in(t)
		l.do(l.net.CompleteFailBack, pool01)
		require.NoError(t, l.net.RedirectCallParkOrbit("pickup-pool01", pool01))
		l.reregister(topology.NormalMode, pool01, "carol")
		assert.Equal(t, 404, l.dialFails("carol", "100").Code)
	})
}

func TestSeedTableEstablishedCall(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol", "dave")
	out, in := l.ring("alice", "dave")
	require.NoError(t, in.Answer())
	_, err := out.WaitState(ctx(t), phone.Established)
	require.NoError(t, err)
	_, err = in.WaitState(ctx(t), phone.Established)
	require.NoError(t, err)
	mediaFlows(t, out, in, 10)

	steps := []struct {
		cell string
		do   func(l *lab)
	}{
		{"during failover: calls stay connected", func(l *lab) {
			l.outageAndTimer()
			l.do(l.net.InvokeFailOver, pool01)
		}},
		{"after failover: calls stay connected", func(l *lab) { l.do(l.net.CompleteFailOver, pool01) }},
		{"during failback: calls stay connected", func(l *lab) {
			l.do(l.net.Recover, pool01)
			l.do(l.net.InvokeFailBack, pool01)
		}},
		{"after failback: calls stay connected", func(l *lab) { l.do(l.net.CompleteFailBack, pool01) }},
	}
	for _, s := range steps {
		t.Run(s.cell, func(t *testing.T) {
			s.do(l.in(t))
			assert.Equal(t, phone.Established, out.State())
			assert.Equal(t, phone.Established, in.State())
			mediaFlows(t, out, in, 10)
		})
	}
	t.Run("either party can still hang up normally afterwards", func(t *testing.T) {
		require.NoError(t, in.Hangup(ctx(t)), "BYE goes end to end, not through a pool")
		_, err := out.WaitState(ctx(t), phone.Ended)
		require.NoError(t, err)
		assert.Equal(t, "remote", out.EndedBy())
	})
}
