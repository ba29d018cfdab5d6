package sip

import (
	"bytes"
	"sync/atomic"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// crossPoolTopology: group 300's range belongs to pool02, but its member bob is homed on
// pool01; erin, homed on pool02, is in the same group. alice and carol are on pool01, dave
// on pool02.
func crossPoolTopology() topology.Topology {
	return topology.Topology{
		Pools: []topology.Pool{{FQDN: pool01, Backup: pool02}, {FQDN: pool02, Backup: pool01}},
		Users: []topology.User{
			{Name: "alice", HomePool: pool01},
			{Name: "bob", HomePool: pool01, PickupNumber: "300", PrivateLine: "4255550102"},
			{Name: "carol", HomePool: pool01},
			{Name: "dave", HomePool: pool02},
			{Name: "erin", HomePool: pool02, PickupNumber: "300"},
		},
		Orbits: []park.OrbitRange{
			{Identity: "pickup-pool02", NumberRangeStart: "300", NumberRangeEnd: "399", CallParkService: pool02, Type: park.GroupPickup},
		},
	}
}

// Issue 9.2, SPEC section 3: the queue is held by the Call Park application of the pool that
// owns the group's range, wherever the member is served. pool01 rings bob and tells pool02;
// a pickup through pool02 is handed back to pool01, which answers alice towards carol.
func TestCrossPoolGroupPickupInNormalOperation(t *testing.T) {
	l := newLab(t, crossPoolTopology())
	l.registerAll("alice", "bob", "carol", "dave")
	out, in := l.ring("alice", "bob")
	assert.Equal(t, 1, l.net.QueueLength("300"), "queued at pool02, the range's owner")
	p2, _ := l.net.Pool(pool02)
	q := p2.Queued()["300"]
	require.Len(t, q, 1)
	assert.Equal(t, pool01, q[0].Holder)
	assert.Equal(t, "alice", q[0].Caller)
	assert.Equal(t, "bob", q[0].Callee)

	pick := l.pickUp("dave", "300", "alice") // dave is on pool02 itself
	_, err := out.WaitState(ctx(t), phone.Established)
	require.NoError(t, err)
	assert.Equal(t, "dave", out.Remote())
	_, err = in.WaitState(ctx(t), phone.Cancelled)
	require.NoError(t, err)
	assert.Equal(t, lync.CompletedElsewhere, in.CancelReason())
	assert.Equal(t, "dave", in.PickedUpBy())
	mediaFlows(t, out, pick, 5)
	p1, _ := l.net.Pool(pool01)
	assert.Equal(t, 1, p1.ActiveCalls(), "pool01, which held alice's call, bridges it")
	assert.Zero(t, l.net.QueueLength("300"))

	require.NoError(t, pick.Hangup(ctx(t)))
	_, err = out.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
	eventually(t, "the bridge is freed", func() bool { return p1.ActiveCalls() == 0 })
}

// The caller hanging up takes the call out of the owner's queue (PUBLISH terminated).
func TestCrossPoolCallLeavesTheOwnersQueueWhenItEnds(t *testing.T) {
	l := newLab(t, crossPoolTopology())
	l.registerAll("alice", "bob", "carol")
	out, in := l.ring("alice", "bob")
	require.Equal(t, 1, l.net.QueueLength("300"))
	require.NoError(t, out.Hangup(ctx(t)))
	_, err := in.WaitState(ctx(t), phone.Cancelled)
	require.NoError(t, err)
	eventually(t, "the owner forgets the call", func() bool { return l.net.QueueLength("300") == 0 })
	o := l.dialFails("carol", "300")
	assert.Equal(t, 404, o.Code)
	assert.Equal(t, topology.DiagOrbitNotFound, o.Diagnostic)
}

// The seed's rules hold for a cross-pool group: the owner down refuses pickups with
// 503/35011 until the range is redirected, and calls the member's failed pool held are lost
// at the owner too.
func TestCrossPoolGroupThroughAFailure(t *testing.T) {
	t.Run("owner down", func(t *testing.T) {
		l := newLab(t, crossPoolTopology())
		l.registerAll("alice", "bob", "carol")
		l.do(l.net.Outage, pool02)
		out, _ := l.ring("alice", "bob")
		o := l.dialFails("carol", "300")
		assert.Equal(t, 503, o.Code)
		assert.Equal(t, topology.DiagCannotForward, o.Diagnostic)
		require.NoError(t, out.Hangup(ctx(t)))

		require.NoError(t, l.net.RedirectCallParkOrbit("pickup-pool02", pool01))
		l.ring("alice", "bob")
		assert.Equal(t, 1, l.net.QueueLength("300"))
		l.pickUp("carol", "300", "alice")
	})
	t.Run("member's pool fails: its calls leave the owner's queue", func(t *testing.T) {
		l := newLab(t, crossPoolTopology())
		l.registerAll("alice", "bob", "dave")
		l.ring("alice", "bob")
		require.Equal(t, 1, l.net.QueueLength("300"))
		l.do(l.net.Outage, pool01)
		assert.Zero(t, l.net.QueueLength("300"), "pool01 held the caller's transaction: nobody can answer it now")
		o := l.dialFails("dave", "300")
		assert.Equal(t, 404, o.Code)
	})
}

// Issue 9.6 over SIP: while the member is in resiliency mode, its call is reported blocked,
// and a pickup says why instead of "no call is ringing".
func TestPickupOfACallToAUserInResiliencyModeSaysSo(t *testing.T) {
	l := newLab(t, crossPoolTopology())
	l.registerAll("alice", "bob", "dave")
	l.outageAndTimer()
	l.do(l.net.InvokeFailOver, pool01)
	l.reregister(topology.Resiliency, pool02, "alice", "bob")
	l.ring("alice", "bob")
	assert.Zero(t, l.net.QueueLength("300"))
	o := l.dialFails("dave", "300")
	assert.Equal(t, 480, o.Code)
	assert.Contains(t, o.Warning, "the call ringing bob in group call pickup group 300 cannot be picked up: bob is in resiliency mode")
}

// Plan for Group Call Pickup: calls to a private line cannot be picked up. bob's private
// line rings him (through pool01, reported to pool02's queue), and a pickup says why not.
func TestCallsToAPrivateLineAreNeverPickedUp(t *testing.T) {
	l := newLab(t, crossPoolTopology())
	l.registerAll("alice", "bob", "dave")
	out, err := l.phone("alice").Dial("4255550102")
	require.NoError(t, err)
	in, err := l.phone("bob").NextIncoming(ctx(t))
	require.NoError(t, err)
	_, err = out.WaitState(ctx(t), phone.Ringing)
	require.NoError(t, err)
	assert.Zero(t, l.net.QueueLength("300"))
	o := l.dialFails("dave", "300")
	assert.Equal(t, 404, o.Code)
	assert.Contains(t, o.Warning, "it is to bob's private line")
	require.NoError(t, in.Answer())
	_, err = out.WaitState(ctx(t), phone.Established)
	require.NoError(t, err)
	assert.Equal(t, "4255550102", out.Remote(), "connected to the private line it dialled")
}

// Only pools fill a pickup queue: a PUBLISH of dialog state from a phone is refused (403),
// even well formed, and an INVITE with Replaces from a phone takes nothing over.
func TestPhonesCannotFillOrTakeOverAPickupQueue(t *testing.T) {
	l := newLab(t, crossPoolTopology())
	l.registerAll("alice", "bob", "dave")
	p2, _ := l.net.Pool(pool02)
	mallory := l.phone("dave")
	info := dialoginfo.Info{Entity: "sip:bob@contoso.com", Dialogs: []dialoginfo.Dialog{{ID: "x", CallID: "fake@x", State: dialoginfo.Early,
		Pickup: &dialoginfo.Pickup{Number: "300"}}}}
	req := gosip.NewRequest(gosip.PUBLISH, gosip.Uri{Scheme: "sip", User: "bob", Host: "contoso.com"})
	req.AppendHeader(gosip.NewHeader("Event", dialoginfo.Event))
	req.AppendHeader(gosip.NewHeader("Content-Type", dialoginfo.ContentType))
	req.SetBody(dialoginfo.Build(info))
	req.SetDestination(p2.Addr())
	res, err := mallory.Send(ctx(t), req)
	require.NoError(t, err)
	assert.Equal(t, 403, res.StatusCode)
	assert.Contains(t, lync.OutcomeOf(res).Warning, "only from the deployment's pools")
	assert.Zero(t, l.net.QueueLength("300"))

	// A real ringing call, and a phone that names it in Replaces: routed as an ordinary call
	// to bob, not a pickup.
	out, _ := l.ring("alice", "bob")
	c, err := mallory.DialURI(gosip.Uri{Scheme: "sip", User: "bob", Host: "contoso.com"}, p2.Addr(),
		gosip.NewHeader("Replaces", out.ID+";to-tag=x;from-tag=y;early-only"))
	require.NoError(t, err)
	_, err = c.WaitState(ctx(t), phone.Ringing, phone.Failed, phone.Established)
	require.NoError(t, err)
	assert.NotEqual(t, phone.Established, out.State(), "alice's call was not taken over")
	assert.Equal(t, 1, l.net.QueueLength("300"))
}

// Issue 10.10: the holder's 2xx to a handed-over pickup can be lost between the range owner
// and the picker. The holder retransmits it until the picker's ACK; the owner, a proxy on
// that path, must pass the retransmission on (RFC 6026 section 7.1), or the picker never
// learns it was answered (seen under 5 % loss: cross-pool-group.yaml's pickups timing out).
func TestAHandedOverPickupSurvivesItsLostAnswer(t *testing.T) {
	l := newLab(t, crossPoolTopology())
	l.registerAll("alice", "bob", "carol", "dave")
	var lost atomic.Int32
	dave := l.phone("dave").Addr()
	l.net.armed.Store(&testHooks{loseSent: func(b []byte, to string) bool {
		answer := bytes.HasPrefix(b, []byte("SIP/2.0 200")) && bytes.Contains(b, []byte(" INVITE\r\n"))
		return to == dave && answer && lost.CompareAndSwap(0, 1)
	}})
	t.Cleanup(func() { l.net.armed.Store(nil) })

	out, in := l.ring("alice", "bob")
	pick := l.pickUp("dave", "300", "alice") // through pool02, handed over to pool01
	assert.EqualValues(t, 1, lost.Load(), "the first 2xx to dave was lost")
	_, err := out.WaitState(ctx(t), phone.Established)
	require.NoError(t, err)
	assert.Equal(t, "dave", out.Remote())
	_, err = in.WaitState(ctx(t), phone.Cancelled)
	require.NoError(t, err)
	mediaFlows(t, out, pick, 5)
	require.NoError(t, pick.Hangup(ctx(t)))
	_, err = out.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
}
