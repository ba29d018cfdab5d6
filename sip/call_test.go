package sip

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/media"
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
	_, err = parked.WaitState(ctx(t), Ended)
	require.NoError(t, err)
}

func TestMediaIsSentInTheNegotiatedCodec(t *testing.T) {
	rx, err := media.Listen("127.0.0.1")
	require.NoError(t, err)
	defer rx.Close()
	tx, err := media.Listen("127.0.0.1")
	require.NoError(t, err)
	c := newCall(nil, "id", true, "dave", tx)
	defer tx.Close()

	pcmaOnly := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n")
	c.startMedia(rx.LocalAddr(), pcmaOnly)
	require.NoError(t, rx.WaitReceived(ctx(t), tx.SSRC(), 3))
	assert.Equal(t, uint8(media.PayloadPCMA), rx.Stats().Sources[tx.SSRC()].PayloadType)
}
