package sip

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A pool given port 0 listens below the kernel's ephemeral range, where no port-0 socket
// of a phone or another process lands while it is down, recovers on the same address,
// and gives its port back when the deployment closes.
func TestAPoolOnPortZeroKeepsAPortBelowTheEphemeralRange(t *testing.T) {
	l := newLab(t, labTopology())
	p1, ok := l.net.Pool(pool01)
	require.True(t, ok)
	addr := p1.Addr()
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	n, _ := strconv.Atoi(port)
	assert.GreaterOrEqual(t, n, poolPortsLow)
	assert.Less(t, n, poolPortsHigh, "below the ephemeral range")
	assert.Zero(t, n%2, "even: a TLS listener takes the next port")

	require.NoError(t, l.net.Outage(pool01))
	require.NoError(t, l.net.Recover(pool01))
	assert.Equal(t, addr, p1.Addr(), "the pool answers again where its users know it")

	poolPortsMu.Lock()
	assert.True(t, poolPorts[n], "no other pool of this process takes the port, even while the pool is down")
	poolPortsMu.Unlock()
	l.net.Close()
	poolPortsMu.Lock()
	assert.False(t, poolPorts[n], "the port is given back when the deployment closes")
	poolPortsMu.Unlock()
}
