package sip

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGroupCallPickupBeforeAnyFailure(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol")
	out, in := l.ring("alice", "bob")
	require.Equal(t, 1, l.net.QueueLength("100"))

	pick, err := l.phone("carol").Dial("100")
	require.NoError(t, err)
	_, err = pick.WaitState(ctx(t), Established)
	require.NoError(t, err)
	_, err = out.WaitState(ctx(t), Established)
	require.NoError(t, err)

	assert.Equal(t, "carol", out.Remote(), "alice is connected to the picker")
	assert.Equal(t, "alice", pick.Remote(), "the picker is connected to the caller")
	_, err = in.WaitState(ctx(t), Cancelled)
	require.NoError(t, err)
	assert.Equal(t, CompletedElsewhere, in.CancelReason())
	assert.Equal(t, "carol", in.PickedUpBy())
	assert.Equal(t, 0, l.net.QueueLength("100"))

	// Media flows phone to phone: each hears the other's stream.
	require.NoError(t, out.Media.WaitReceived(ctx(t), pick.Media.SSRC(), 10))
	require.NoError(t, pick.Media.WaitReceived(ctx(t), out.Media.SSRC(), 10))

	require.NoError(t, out.Hangup(ctx(t)))
	_, err = pick.WaitState(ctx(t), Ended)
	require.NoError(t, err)
	assert.Equal(t, "remote", pick.EndedBy())
}
