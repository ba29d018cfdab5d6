package sip

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

func TestRegisterOnHomePoolIsConnectedToPrimary(t *testing.T) {
	l := newLab(t, labTopology())
	reg, err := l.phone("alice").Register(ctx(t))
	require.NoError(t, err)
	p1, _ := l.net.Pool(pool01)
	assert.Equal(t, p1.Addr(), reg.Registrar)
	assert.Equal(t, topology.NormalMode, reg.Mode)
	assert.Equal(t, topology.NormalMode, p1.Registered()["alice"])
}

func TestBackupRegistrarWaitsForTheFailoverTimer(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice")
	require.NoError(t, l.net.Outage(pool01))
	l.clock.Advance(100 * time.Second)

	reg, err := l.phone("alice").Register(ctx(t))
	require.ErrorIs(t, err, phone.ErrNotRegistered)
	assert.Equal(t, 503, reg.Outcome.Code, "the backup registrar refuses until the timer runs out")
	assert.Equal(t, 200*time.Second, reg.Outcome.RetryAfter)
	assert.Len(t, reg.Tried, 2, "home pool first (no answer), then the backup")

	l.clock.Advance(200 * time.Second)
	p2, _ := l.net.Pool(pool02)
	reg, err = l.phone("alice").Register(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, p2.Addr(), reg.Registrar)
	assert.Equal(t, topology.Resiliency, reg.Mode, "is-connected-to-primary=no")
}

func TestRegistrarFailoverTimerIsConfigurable(t *testing.T) {
	topo := labTopology()
	topo.RegistrarFailoverTimer = 30 * time.Second
	l := newLab(t, topo)
	require.NoError(t, l.net.Outage(pool01))
	l.clock.Advance(30 * time.Second)
	reg, err := l.phone("alice").Register(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, topology.Resiliency, reg.Mode)
}

func TestPoolOutageClosesItsSockets(t *testing.T) {
	l := newLab(t, labTopology())
	p1, _ := l.net.Pool(pool01)
	addr := p1.Addr()
	require.NoError(t, l.net.Outage(pool01))
	// 10 s: on a lossy network a lost SYN is sent again after 1 s, then 3 s.
	_, err := net.DialTimeout("tcp", addr, 10*time.Second)
	require.Error(t, err, "a failed pool's TCP port refuses connections")
	c, err := net.ListenPacket("udp", addr)
	require.NoError(t, err, "its UDP port is free")
	c.Close()

	require.NoError(t, l.net.Recover(pool01))
	assert.Equal(t, addr, p1.Addr(), "a recovered pool answers on the same address")
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	require.NoError(t, err)
	conn.Close()
}

func TestRecoveryBeforeFailoverSendsUsersHome(t *testing.T) {
	l := newLab(t, labTopology())
	l.outageAndTimer()
	l.reregister(topology.Resiliency, pool02, "alice")
	require.NoError(t, l.net.Recover(pool01))
	p2, _ := l.net.Pool(pool02)
	assert.NotContains(t, p2.Registered(), "alice", "the backup signs the users out")
	l.reregister(topology.NormalMode, pool01, "alice")
}

func TestFailedOverHomePoolRedirectsToBackup(t *testing.T) {
	l := newLab(t, labTopology())
	l.outageAndTimer()
	require.NoError(t, l.net.InvokeFailOver(pool01))
	require.NoError(t, l.net.CompleteFailOver(pool01))
	require.NoError(t, l.net.Recover(pool01))
	reg, err := l.phone("alice").Register(ctx(t))
	require.NoError(t, err)
	p2, _ := l.net.Pool(pool02)
	assert.Equal(t, p2.Addr(), reg.Registrar, "pool01 answers 301 towards pool02")
	assert.Equal(t, topology.NormalMode, reg.Mode)
}

func TestIllegalDisasterRecoveryStepsChangeNothing(t *testing.T) {
	l := newLab(t, labTopology())
	err := l.net.InvokeFailBack(pool01)
	require.ErrorIs(t, err, topology.ErrIllegalTransition)
	assert.Contains(t, err.Error(), "failback needs a completed failover")
	err = l.net.InvokeFailOver(pool01)
	require.ErrorIs(t, err, topology.ErrIllegalTransition)
	assert.Equal(t, topology.Normal, l.net.Pools()[0].Phase)
	assert.True(t, l.net.Pools()[0].Up)
	require.ErrorIs(t, l.net.Outage("pool99.contoso.com"), ErrUnknownPool)
}
