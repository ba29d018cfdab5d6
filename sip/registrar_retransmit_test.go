package sip

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The registrar answers statelessly (no transaction kept for Timer J), so it recognises a
// retransmitted REGISTER itself: the phone whose 200 OK was lost sends the same request
// again and is answered 200 again, not refused as stale. The same Call-ID and CSeq from
// elsewhere, or for another Contact, is still a stale or replayed request.
func TestARetransmittedREGISTERIsAnsweredAgain(t *testing.T) {
	l := newLab(t, labTopology())
	p1, _ := l.net.Pool(pool01)
	phone := newRawPeer(t)
	reg := registerMsg(phone.addr(), "UDP", "alice")

	first := phone.final(p1.Addr(), reg)
	require.NotNil(t, first)
	require.Equal(t, 200, first.StatusCode)
	again := phone.final(p1.Addr(), reg) // the same bytes: the 200 was lost
	require.NotNil(t, again, "no answer to the retransmission")
	assert.Equal(t, 200, again.StatusCode, "warning: %s", warningOf(again))
	assert.Equal(t, "600", again.GetHeader("Expires").Value())
	assert.Equal(t, first.GetHeader("presence-state").Value(), again.GetHeader("presence-state").Value())

	b, ok := p1.rt.lookup("alice")
	require.True(t, ok)
	assert.Equal(t, phone.addr(), b.source)

	other := newRawPeer(t) // the same request replayed from another port
	replay := strings.ReplaceAll(reg, phone.addr(), other.addr())
	res := other.final(p1.Addr(), replay)
	require.NotNil(t, res)
	assert.Equal(t, 400, res.StatusCode, "a replay from elsewhere is stale")
	b, _ = p1.rt.lookup("alice")
	assert.Equal(t, phone.addr(), b.source, "the binding did not move")
}
