package phone

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A phone learns that nobody listens at a SIP address from the network (an ICMP port
// unreachable on a connected socket), not from a 32 s transaction timeout.

func TestProbeFindsAClosedPortAndNeverALiveOne(t *testing.T) {
	ph, err := New(Config{User: "alice", Domain: "contoso.com"})
	require.NoError(t, err)
	t.Cleanup(ph.Close)

	live, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { live.Close() })
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := dead.LocalAddr().String()
	dead.Close()

	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.ErrorIs(t, ph.probe(c, deadAddr), ErrUnreachable)

	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	assert.NoError(t, ph.probe(short, live.LocalAddr().String()), "a socket that listens never refuses")
	buf := make([]byte, 16)
	live.SetReadDeadline(time.Now().Add(time.Second))
	n, _, err := live.ReadFrom(buf)
	require.NoError(t, err)
	assert.Equal(t, "\r\n\r\n", string(buf[:n]), "the probe is a CRLF keep-alive, which SIP stacks ignore")

	assert.NoError(t, ph.probe(short, "contoso.com:5060"), "a name is not probed: a phone never asks the DNS")
}
