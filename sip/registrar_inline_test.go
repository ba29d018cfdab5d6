package sip

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestARegisterOverUDPIsAnsweredFromThePoolsAddress: the registrar answers a UDP REGISTER
// as its socket reads it (registrar_inline.go), not through sipgo; the 200 must still
// leave from the pool's own address and port (a phone behind NAT or a firewall only
// accepts it from there, RFC 3581), once. TestARetransmittedREGISTERIsAnsweredAgain
// covers the binding and retransmissions.
func TestARegisterOverUDPIsAnsweredFromThePoolsAddress(t *testing.T) {
	l := newLab(t, labTopology())
	p1, _ := l.net.Pool(pool01)
	phone := newRawPeer(t)
	phone.send(p1.Addr(), registerMsg(phone.addr(), "UDP", "carol"))
	buf := make([]byte, 65535)
	require.NoError(t, phone.conn.SetReadDeadline(time.Now().Add(3*time.Second)))
	n, from, err := phone.conn.ReadFromUDP(buf)
	require.NoError(t, err, "no answer")
	assert.Contains(t, string(buf[:n]), "SIP/2.0 200 OK")
	assert.Equal(t, p1.Addr(), from.String(), "answered from the pool's address")
	require.NoError(t, phone.silence(300*time.Millisecond), "one answer, not retransmitted")
	_, registered := p1.Registered()["carol"]
	assert.True(t, registered)
}
