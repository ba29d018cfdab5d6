package sip

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// failedOverParkLab is a park lab whose pool01 has failed over to pool02 (completed), with
// alice, dave and carol registered on pool02 out of resiliency mode.
func failedOverParkLab(t *testing.T) *lab {
	l := newParkLab(t, nil)
	fast := 20 * time.Second
	_, err := l.net.SetCpsConfiguration(pool02, park.CPSChange{CallPickupTimeoutThreshold: &fast})
	require.NoError(t, err)
	l.registerAll("alice", "dave", "carol")
	l.outageAndTimer()
	require.NoError(t, l.net.InvokeFailOver(pool01))
	require.NoError(t, l.net.CompleteFailOver(pool01))
	l.reregister(topology.NormalMode, pool02, "alice", "dave", "carol")
	return l
}

func TestAfterFailoverParkingUsesTheBackupPoolsRangesAndSettings(t *testing.T) {
	l := failedOverParkLab(t)
	orbit := l.park("alice", "dave")
	assert.Equal(t, "8000", orbit, "pool02's CallPark range")

	// pool02's CallPickupTimeoutThreshold (20 s), not pool01's (90 s), rings alice back.
	l.phone("alice").SetAutoAnswer(true)
	l.clock.Advance(20 * time.Second)
	p2, _ := l.net.Pool(pool02)
	eventually(t, "ring-back answered frees the orbit", func() bool { return len(p2.ParkedCalls()) == 0 })
}

func TestCallsParkedOnTheBackupStayParkedDuringFailback(t *testing.T) {
	l := failedOverParkLab(t)
	orbit := l.park("alice", "dave")
	parked := l.parkedLeg("dave")

	require.NoError(t, l.net.Recover(pool01))
	require.NoError(t, l.net.InvokeFailBack(pool01))
	p2, _ := l.net.Pool(pool02)
	assert.Len(t, p2.ParkedCalls(), 1, "during failback, calls parked on the backup stay parked")
	assert.Equal(t, phone.Established, parked.State())
	before := parked.Media.Stats().Received
	waitPackets(t, parked, before+10) // music on hold keeps playing

	require.NoError(t, l.net.CompleteFailBack(pool01))
	l.reregister(topology.NormalMode, pool01, "carol")
	got, err := l.phone("carol").Dial(orbit)
	require.NoError(t, err)
	l.established(got)
	assert.Equal(t, "dave", got.Remote(), "retrieved after failback completed, through pool02's orbit range")
	require.NoError(t, parked.Media.WaitReceived(ctx(t), got.Media.SSRC(), 10))
}
