package sip

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// TestDeadHomePoolIsSkippedAtOnce: with its home pool down, a phone registers on its
// backup registrar; the home pool's REGISTER ends on the network's answer (503), with no
// wait for Timer F.
func TestDeadHomePoolIsSkippedAtOnce(t *testing.T) {
	l := newLab(t, labTopology())
	l.outageAndTimer()
	p1, _ := l.net.Pool(pool01)
	p2, _ := l.net.Pool(pool02)
	ph := l.phone("alice")

	c, cancel := context.WithTimeout(context.Background(), siputil.TransactionTimeout()/2)
	defer cancel()
	reg, err := ph.Register(c)
	require.NoError(t, err)
	assert.Equal(t, []string{p1.Addr(), p2.Addr()}, reg.Tried)
	assert.Equal(t, p2.Addr(), reg.Registrar)
	assert.Equal(t, topology.Resiliency, reg.Mode)

	require.NoError(t, l.net.Outage(pool02))
	reg, err = ph.Register(c)
	require.ErrorIs(t, err, phone.ErrNotRegistered)
	assert.Equal(t, 503, reg.Outcome.Code)
	assert.Contains(t, reg.Outcome.Warning, "unreachable")
}
