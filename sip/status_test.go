package sip

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// The mode a registration is served in follows the deployment: once failover (or
// failback) completes, the users it moved are out of resiliency mode at once, which is
// what their pickups see, though each phone shows the mode it was told until it refreshes.
func TestRegistrationModeFollowsFailoverAndFailbackCompletion(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("bob")
	p1, _ := l.net.Pool(pool01)
	p2, _ := l.net.Pool(pool02)

	l.do(l.net.Outage, pool01)
	at, ok := l.net.BackupRegistrarAt(pool01)
	require.True(t, ok, "the registrar failover timer runs during the outage")
	assert.Equal(t, l.clock.Now().Add(topology.DefaultRegistrarFailoverTimer), at)
	l.clock.Advance(topology.DefaultRegistrarFailoverTimer)
	l.reregister(topology.Resiliency, pool02, "bob")
	l.do(l.net.InvokeFailOver, pool01)
	_, ok = l.net.BackupRegistrarAt(pool01)
	assert.False(t, ok, "no timer once failover started")
	assert.Equal(t, []Binding{{User: "bob", Mode: topology.Resiliency, Told: topology.Resiliency}}, strip(p2.Bindings()))

	l.do(l.net.CompleteFailOver, pool01)
	assert.Equal(t, []Binding{{User: "bob", Mode: topology.NormalMode, Told: topology.Resiliency}}, strip(p2.Bindings()))
	assert.Equal(t, topology.NormalMode, p2.Registered()["bob"])

	l.do(l.net.Recover, pool01)
	l.do(l.net.InvokeFailBack, pool01)
	assert.Empty(t, p2.Bindings(), "failback signs the users out of the backup")
	l.reregister(topology.Resiliency, pool01, "bob")
	l.do(l.net.CompleteFailBack, pool01)
	assert.Equal(t, []Binding{{User: "bob", Mode: topology.NormalMode, Told: topology.Resiliency}}, strip(p1.Bindings()))
	l.reregister(topology.NormalMode, pool01, "bob")
	assert.Equal(t, []Binding{{User: "bob", Mode: topology.NormalMode, Told: topology.NormalMode}}, strip(p1.Bindings()))
}

// strip keeps what the test compares: user and modes.
func strip(bs []Binding) []Binding {
	var out []Binding
	for _, b := range bs {
		out = append(out, Binding{User: b.User, Mode: b.Mode, Told: b.Told, Stale: b.Stale})
	}
	return out
}

func TestBridgedCallsNameBothParties(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol")
	p1, _ := l.net.Pool(pool01)
	out, _ := l.ring("alice", "bob")
	l.clock.Advance(time.Second)
	pick := l.pickUp("carol", "100", "alice")
	_, err := out.WaitState(ctx(t), phone.Established)
	require.NoError(t, err)
	calls := p1.BridgedCalls()
	require.Len(t, calls, 1)
	assert.ElementsMatch(t, []string{"alice", "carol"}, []string{calls[0].A, calls[0].B})
	assert.Equal(t, l.clock.Now(), calls[0].Since)
	require.NoError(t, pick.Hangup(ctx(t)))
	require.Eventually(t, func() bool { return len(p1.BridgedCalls()) == 0 }, 5*time.Second, 10*time.Millisecond)
}
