package sip

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/phone"
)

func TestASecondAnswerIsRefused(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "dave")
	out, in := l.ring("alice", "dave")
	require.NoError(t, in.Answer())
	assert.Error(t, in.Reject(486, "Busy Here"), "the call is already answered")
	l.established(out, in)
}

func TestRingBackTimeoutCountsFromWhenTheRingBackStarted(t *testing.T) {
	cfg := park.DefaultCPSConfig()
	cfg.OnTimeoutURI = "sip:carol@contoso.com"
	l := newParkLab(t, &cfg)
	parked := parkForTimeout(t, l)
	// One jump across the pickup timeout and the ring-back's own timeout forwards the call.
	l.clock.Advance(cfg.CallPickupTimeoutThreshold + RingBackTimeout + time.Second)
	in, err := l.phone("carol").NextIncoming(ctx(t))
	require.NoError(t, err, "the unanswered ring-back gave up and the call went to OnTimeoutURI")
	assert.Equal(t, "dave", in.Remote())
	require.NoError(t, in.Answer())
	_, err = parked.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
}
