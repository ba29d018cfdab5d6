package sip

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

func TestGroupCallPickupBeforeAnyFailure(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol")
	out, in := l.ring("alice", "bob")
	require.Equal(t, 1, l.net.QueueLength("100"))

	pick, err := l.phone("carol").Dial("100")
	require.NoError(t, err)
	_, err = pick.WaitState(ctx(t), phone.Established)
	require.NoError(t, err)
	_, err = out.WaitState(ctx(t), phone.Established)
	require.NoError(t, err)

	assert.Equal(t, "carol", out.Remote(), "alice is connected to the picker")
	assert.Equal(t, "alice", pick.Remote(), "the picker is connected to the caller")
	_, err = in.WaitState(ctx(t), phone.Cancelled)
	require.NoError(t, err)
	assert.Equal(t, lync.CompletedElsewhere, in.CancelReason())
	assert.Equal(t, "carol", in.PickedUpBy())
	assert.Equal(t, 0, l.net.QueueLength("100"))

	// Media flows phone to phone: each hears the other's stream.
	require.NoError(t, out.Media.WaitReceived(ctx(t), pick.Media.SSRC(), 10))
	require.NoError(t, pick.Media.WaitReceived(ctx(t), out.Media.SSRC(), 10))

	require.NoError(t, out.Hangup(ctx(t)))
	_, err = pick.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
	assert.Equal(t, "remote", pick.EndedBy())
}

func TestSeveralRingingCallsArePickedUpLongestFirst(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol", "dave", "erin")
	first, _ := l.ring("alice", "bob")
	l.clock.Advance(2 * time.Second)
	second, _ := l.ring("dave", "carol")
	require.Equal(t, 2, l.net.QueueLength("100"))

	// erin is not in group 100 and homed on the other pool: anyone in the enterprise may pick up.
	l.pickUp("erin", "100", "alice")
	_, err := first.WaitState(ctx(t), phone.Established)
	require.NoError(t, err)
	assert.Equal(t, "erin", first.Remote())
	assert.Equal(t, phone.Ringing, second.State())
	assert.Equal(t, 1, l.net.QueueLength("100"))
}

func TestCallerFromOutsideTheEnterpriseCannotPickUp(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob")
	l.ring("alice", "bob")
	p1, _ := l.net.Pool(pool01)
	mallory, err := phone.New(phone.Config{User: "mallory", Domain: "fabrikam.com", Registrars: []string{p1.Addr()}})
	require.NoError(t, err)
	t.Cleanup(mallory.Close)

	c, err := mallory.Dial("100")
	require.NoError(t, err)
	_, err = c.WaitState(ctx(t), phone.Failed)
	require.NoError(t, err)
	assert.Equal(t, 403, c.Outcome().Code)
	assert.Equal(t, topology.DiagOutsideEnterprise, c.Outcome().Diagnostic)
	assert.Equal(t, 1, l.net.QueueLength("100"), "the call is still waiting for a colleague")
}

func TestSpoofedEnterpriseIdentityIsTreatedAsOutside(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol")
	l.ring("alice", "bob")
	p1, _ := l.net.Pool(pool01)
	// A second device claims to be carol without registering from that address.
	fake, err := phone.New(phone.Config{User: "carol", Domain: l.net.Domain(), Registrars: []string{p1.Addr()}})
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	c, err := fake.Dial("100")
	require.NoError(t, err)
	_, err = c.WaitState(ctx(t), phone.Failed)
	require.NoError(t, err)
	assert.Equal(t, 403, c.Outcome().Code)
}

func TestPickupWithNothingRingingIsOrbitNotFound(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("carol")
	o := l.dialFails("carol", "100")
	assert.Equal(t, 404, o.Code)
	assert.Equal(t, topology.DiagOrbitNotFound, o.Diagnostic)
	assert.Equal(t, "Orbit not found", topology.DiagnosticText[o.Diagnostic])
}

func TestUnknownNumberIsNotFound(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("carol")
	o := l.dialFails("carol", "zed")
	assert.Equal(t, 404, o.Code)
	assert.Contains(t, o.Warning, "neither a user nor an orbit")
}

func TestCalleeAnsweringLeavesTheQueue(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol")
	out, in := l.ring("alice", "bob")
	require.NoError(t, in.Answer())
	_, err := out.WaitState(ctx(t), phone.Established)
	require.NoError(t, err)
	assert.Equal(t, "bob", out.Remote())
	assert.Zero(t, l.net.QueueLength("100"))
	assert.Equal(t, 404, l.dialFails("carol", "100").Code)
}
