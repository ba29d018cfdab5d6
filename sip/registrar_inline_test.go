package sip

import (
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// TestARegisterOverUDPIsAnsweredFromThePoolsAddress: the registrar answers a UDP REGISTER
// as its socket reads it (registrar_inline.go), not through sipgo; the 200 must still
// leave from the pool's own address and port (a phone behind NAT or a firewall only
// accepts it from there, RFC 3581), to the port the REGISTER came from, with the binding
// and the mode, and a retransmission gets the same answer.
func TestARegisterOverUDPIsAnsweredFromThePoolsAddress(t *testing.T) {
	l := newLab(t, labTopology())
	p1, _ := l.net.Pool(pool01)
	phone := newRawPeer(t)
	msg := registerMsg(phone.addr(), "UDP", "carol")
	for _, what := range []string{"the REGISTER", "its retransmission"} {
		phone.send(p1.Addr(), msg)
		buf := make([]byte, 65535)
		require.NoError(t, phone.conn.SetReadDeadline(time.Now().Add(3*time.Second)))
		n, from, err := phone.conn.ReadFromUDP(buf)
		require.NoError(t, err, "%s: no answer", what)
		assert.Equal(t, p1.Addr(), from.String(), "%s: answered from the pool's address", what)
		m, err := gosip.ParseMessage(buf[:n])
		require.NoError(t, err)
		res, ok := m.(*gosip.Response)
		require.True(t, ok, "%s: %s", what, m)
		assert.Equal(t, 200, res.StatusCode, what)
		connected, said := lync.ConnectedToPrimary(res)
		assert.True(t, said && connected, "%s: presence-state says normal mode", what)
		require.NotNil(t, res.Contact(), what)
		assert.Equal(t, phone.addr(), res.Contact().Address.HostPort(), "%s: the binding", what)
	}
	mode, ok := p1.Registered()["carol"]
	require.True(t, ok, "carol is registered")
	assert.Equal(t, topology.NormalMode, mode)
	require.NoError(t, phone.silence(300*time.Millisecond), "one answer per REGISTER, no retransmission of the 200")
}
