package sip

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// newParkLab is the lab of lab_test.go with a CallPark range on pool02 too (8000-8001).
func newParkLab(t *testing.T, cfg *park.CPSConfig) *lab {
	t.Helper()
	topo := labTopology()
	topo.Orbits = append(topo.Orbits, park.OrbitRange{Identity: "park-pool02", NumberRangeStart: "8000", NumberRangeEnd: "8001", CallParkService: pool02})
	if cfg != nil {
		for i := range topo.Pools {
			c := *cfg
			topo.Pools[i].CPS = &c
		}
	}
	return newLab(t, topo)
}

// connect makes caller call callee, the callee answer, and waits until both are connected.
func (l *lab) connect(caller, callee string) (*phone.Call, *phone.Call) {
	l.t.Helper()
	out, in := l.ring(caller, callee)
	require.NoError(l.t, in.Answer())
	l.established(out, in)
	return out, in
}

func (l *lab) established(calls ...*phone.Call) {
	l.t.Helper()
	for _, c := range calls {
		_, err := c.WaitState(ctx(l.t), phone.Established)
		require.NoError(l.t, err)
	}
}

// park connects parker and parkee, parks the call from the parker's side and returns the
// orbit.
func (l *lab) park(parker, parkee string) string {
	l.t.Helper()
	leg, _ := l.connect(parker, parkee)
	orbit, err := l.phone(parker).Park(ctx(l.t), leg)
	require.NoError(l.t, err)
	return orbit
}

// parkedLeg returns the parkee's call to the Call Park application: its newest call.
func (l *lab) parkedLeg(parkee string) *phone.Call {
	l.t.Helper()
	calls := l.phone(parkee).Calls()
	require.NotEmpty(l.t, calls)
	c := calls[len(calls)-1]
	require.Equal(l.t, lync.ParkUser, c.Dialled)
	_, err := c.WaitState(ctx(l.t), phone.Established)
	require.NoError(l.t, err)
	return c
}

// waitPackets waits until s has received at least n RTP packets from anyone.
func waitPackets(t *testing.T, c *phone.Call, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.Media.Stats().Received < n {
		require.True(t, time.Now().Before(deadline), "%s received %d RTP packets, want %d", c.Dialled, c.Media.Stats().Received, n)
		time.Sleep(10 * time.Millisecond)
	}
}

func TestParkAndRetrieveOnTheSamePool(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("alice", "dave", "carol")
	aliceLeg, daveLeg := l.connect("alice", "dave")

	orbit, err := l.phone("alice").Park(ctx(t), aliceLeg)
	require.NoError(t, err)
	assert.Equal(t, "7000", orbit, "the first never used orbit of pool01's CallPark range")
	assert.Equal(t, phone.Ended, aliceLeg.State(), "the parker hangs up its leg, as a transferor does")
	_, err = daveLeg.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)

	parked := l.parkedLeg("dave")
	assert.Equal(t, orbit, parked.ParkOrbit())
	waitPackets(t, parked, 10) // music on hold
	p, _ := l.net.Pool(pool01)
	require.Len(t, p.ParkedCalls(), 1)
	assert.Equal(t, "alice", p.ParkedCalls()[0].Parker)

	got, err := l.phone("carol").Dial(orbit)
	require.NoError(t, err)
	l.established(got)
	assert.Equal(t, "dave", got.Remote())
	assert.Equal(t, "carol", parked.Remote(), "the re-INVITE names the retriever")
	require.NoError(t, got.Media.WaitReceived(ctx(t), parked.Media.SSRC(), 10))
	require.NoError(t, parked.Media.WaitReceived(ctx(t), got.Media.SSRC(), 10))
	assert.Empty(t, p.ParkedCalls())

	require.NoError(t, parked.Hangup(ctx(t)))
	_, err = got.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
}

func TestParkOnPool02AndRetrieveFromPool01(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("erin", "frank", "carol")
	orbit := l.park("erin", "frank")
	assert.Equal(t, "8000", orbit, "erin parks on her own pool's range")
	parked := l.parkedLeg("frank")

	got, err := l.phone("carol").Dial(orbit) // carol is on pool01
	require.NoError(t, err)
	l.established(got)
	assert.Equal(t, "frank", got.Remote())
	require.NoError(t, parked.Media.WaitReceived(ctx(t), got.Media.SSRC(), 10))
	require.NoError(t, got.Hangup(ctx(t)))
	_, err = parked.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
}

func TestParkeeHangUpFreesTheOrbit(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("alice", "dave", "carol")
	orbit := l.park("alice", "dave")
	parked := l.parkedLeg("dave")
	require.NoError(t, parked.Hangup(ctx(t)))
	p, _ := l.net.Pool(pool01)
	assert.Empty(t, p.ParkedCalls())

	got, err := l.phone("carol").Dial(orbit)
	require.NoError(t, err)
	_, err = got.WaitState(ctx(t), phone.Failed)
	require.NoError(t, err)
	assert.Equal(t, 404, got.Outcome().Code)
	assert.Equal(t, topology.DiagOrbitNotFound, got.Outcome().Diagnostic)
}

func TestParkRejections(t *testing.T) {
	t.Run("empty orbit: 404, 35000", func(t *testing.T) {
		l := newParkLab(t, nil)
		l.registerAll("carol")
		got, err := l.phone("carol").Dial("7042")
		require.NoError(t, err)
		_, err = got.WaitState(ctx(t), phone.Failed)
		require.NoError(t, err)
		assert.Equal(t, 404, got.Outcome().Code)
		assert.Equal(t, topology.DiagOrbitNotFound, got.Outcome().Diagnostic)
	})
	t.Run("no free orbit: 480, 35002", func(t *testing.T) {
		l := newParkLab(t, nil)
		l.registerAll("erin", "frank", "alice", "dave")
		for range 2 { // pool02 owns two orbits
			leg, _ := l.connect("erin", "frank")
			_, err := l.phone("erin").Park(ctx(t), leg)
			require.NoError(t, err)
		}
		leg, _ := l.connect("erin", "frank")
		_, err := l.phone("erin").Park(ctx(t), leg)
		var pe *phone.ParkError
		require.True(t, errors.As(err, &pe), "got %v", err)
		assert.Equal(t, 480, pe.Outcome.Code)
		assert.Equal(t, topology.DiagNoFreeOrbit, pe.Outcome.Diagnostic)
		assert.Equal(t, phone.Established, leg.State(), "a refused park leaves the call up")
	})
	t.Run("double park: 486, 35006", func(t *testing.T) {
		l := newParkLab(t, nil)
		l.registerAll("alice", "dave")
		aliceLeg, _ := l.connect("alice", "dave")
		_, err := l.phone("alice").Park(ctx(t), aliceLeg)
		require.NoError(t, err)
		// dave's phone follows the same REFER a second time (a repeated park of one call).
		reg, _ := l.phone("alice").Registrar()
		var target = parkURI(t, reg, aliceLeg.ID)
		again, err := l.phone("dave").FollowRefer(target, "<sip:alice@contoso.com>")
		require.NoError(t, err)
		_, err = again.WaitState(ctx(t), phone.Failed)
		require.NoError(t, err)
		assert.Equal(t, 486, again.Outcome().Code)
		assert.Equal(t, topology.DiagDoublePark, again.Outcome().Diagnostic)
	})
}

func TestResiliencyModeCannotPark(t *testing.T) {
	l := newParkLab(t, nil)
	require.NoError(t, l.net.Outage(pool01))
	l.clock.Advance(5 * time.Minute) // the registrar failover timer
	l.registerAll("alice", "dave")
	_, mode := l.phone("alice").Registrar()
	require.Equal(t, topology.Resiliency, mode)
	aliceLeg, _ := l.connect("alice", "dave")
	_, err := l.phone("alice").Park(ctx(t), aliceLeg)
	var pe *phone.ParkError
	require.True(t, errors.As(err, &pe), "got %v", err)
	assert.Equal(t, 480, pe.Outcome.Code)
	assert.Contains(t, pe.Outcome.Warning, "resiliency mode")
	assert.Equal(t, phone.Established, aliceLeg.State(), "a refused park leaves the call up")

	// Transfer still works in resiliency mode: it never involves the Call Park application.
	l.registerAll("carol")
	l.phone("carol").SetAutoAnswer(true)
	require.NoError(t, l.phone("alice").Transfer(ctx(t), aliceLeg, "carol"))
	_, err = aliceLeg.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
	calls := l.phone("carol").Calls()
	require.NotEmpty(t, calls)
	assert.Equal(t, "dave", calls[len(calls)-1].Remote(), "dave was transferred to carol")
}

func TestRetrievalFromOutsideTheEnterpriseIsRefused(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("alice", "dave")
	orbit := l.park("alice", "dave")
	p1, _ := l.net.Pool(pool01)
	mallory, err := phone.New(phone.Config{User: "mallory", Domain: "fabrikam.com", Registrars: []string{p1.Addr()}})
	require.NoError(t, err)
	t.Cleanup(mallory.Close)
	c, err := mallory.Dial(orbit)
	require.NoError(t, err)
	_, err = c.WaitState(ctx(t), phone.Failed)
	require.NoError(t, err)
	assert.Equal(t, 403, c.Outcome().Code)
	assert.Equal(t, topology.DiagOutsideEnterprise, c.Outcome().Diagnostic)
	assert.Len(t, p1.ParkedCalls(), 1, "the call stays parked")
}

func TestSetCpsConfigurationIsValidated(t *testing.T) {
	l := newParkLab(t, nil)
	eleven := 11
	_, err := l.net.SetCpsConfiguration(pool01, park.CPSChange{MaxCallPickupAttempts: &eleven})
	require.ErrorIs(t, err, park.ErrInvalidSetting)
	assert.Contains(t, err.Error(), "MaxCallPickupAttempts")
	var got park.CPSConfig
	l.net.Deployment(func(d *topology.Deployment) { got, _ = d.CPS(pool01) })
	assert.Equal(t, park.DefaultCPSConfig(), got, "a refused setting changes nothing")
}

// Set-CsCpsConfiguration through the Go API changes only what it names (issue 9.3).
func TestSetCpsConfigurationKeepsWhatItDoesNotName(t *testing.T) {
	l := newParkLab(t, nil)
	uri, timeout := "sip:operator@contoso.com", 45*time.Second
	_, err := l.net.SetCpsConfiguration(pool01, park.CPSChange{OnTimeoutURI: &uri, CallPickupTimeoutThreshold: &timeout})
	require.NoError(t, err)
	three := 3
	got, err := l.net.SetCpsConfiguration(pool01, park.CPSChange{MaxCallPickupAttempts: &three})
	require.NoError(t, err)
	assert.Equal(t, park.CPSConfig{CallPickupTimeoutThreshold: timeout, MaxCallPickupAttempts: 3, OnTimeoutURI: uri, EnableMusicOnHold: true}, got)
}

func parkURI(t *testing.T, pool, callID string) gosip.Uri {
	t.Helper()
	var u gosip.Uri
	require.NoError(t, gosip.ParseUri("sip:"+lync.ParkUser+"@"+pool+"?"+lync.HeaderParkedCall+"="+url.QueryEscape(callID), &u))
	return u
}

// eventually waits until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "still not: %s", what)
		time.Sleep(5 * time.Millisecond)
	}
}

// parkForTimeout has alice park dave on pool01 and returns dave's parked leg.
func parkForTimeout(t *testing.T, l *lab) *phone.Call {
	t.Helper()
	l.registerAll("alice", "dave", "carol")
	aliceLeg, _ := l.connect("alice", "dave")
	_, err := l.phone("alice").Park(ctx(t), aliceLeg)
	require.NoError(t, err)
	return l.parkedLeg("dave")
}

func TestRingBackAnsweredConnectsTheParker(t *testing.T) {
	l := newParkLab(t, nil)
	parked := parkForTimeout(t, l)
	l.clock.Advance(park.DefaultCallPickupTimeoutThreshold)
	ring, err := l.phone("alice").NextIncoming(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, "dave", ring.Remote(), "the ring-back shows who is parked")
	require.NoError(t, ring.Answer())
	l.established(ring)
	p, _ := l.net.Pool(pool01)
	eventually(t, "orbit freed", func() bool { return len(p.ParkedCalls()) == 0 })
	eventually(t, "dave connected to alice", func() bool { return parked.Remote() == "alice" })
	require.NoError(t, ring.Media.WaitReceived(ctx(t), parked.Media.SSRC(), 10))
	require.NoError(t, parked.Media.WaitReceived(ctx(t), ring.Media.SSRC(), 10))
	require.NoError(t, ring.Hangup(ctx(t)))
	_, err = parked.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
}

func TestRingBackUnanswered(t *testing.T) {
	tests := []struct {
		attempts int
		fallback string
	}{
		{1, ""}, {1, "sip:carol@contoso.com"}, {3, ""}, {3, "sip:carol@contoso.com"},
	}
	for _, tc := range tests {
		name := fmt.Sprintf("MaxCallPickupAttempts %d", tc.attempts)
		if tc.fallback == "" {
			name += ", no OnTimeoutURI: disconnected"
		} else {
			name += ", OnTimeoutURI: forwarded"
		}
		t.Run(name, func(t *testing.T) {
			cfg := park.DefaultCPSConfig()
			cfg.MaxCallPickupAttempts, cfg.OnTimeoutURI = tc.attempts, tc.fallback
			l := newParkLab(t, &cfg)
			parked := parkForTimeout(t, l)
			p, _ := l.net.Pool(pool01)
			for i := 1; i <= tc.attempts; i++ {
				l.clock.Advance(cfg.CallPickupTimeoutThreshold)
				ring, err := l.phone("alice").NextIncoming(ctx(t))
				require.NoError(t, err, "ring-back %d", i)
				l.clock.Advance(RingBackTimeout)
				_, err = ring.WaitState(ctx(t), phone.Cancelled)
				require.NoError(t, err, "ring-back %d", i)
				if i < tc.attempts {
					eventually(t, "parked again", func() bool {
						cs := p.ParkedCalls()
						return len(cs) == 1 && cs[0].RingBacks == i && !cs[0].RingingBack
					})
					assert.Equal(t, phone.Established, parked.State(), "still parked after ring-back %d", i)
				}
			}
			eventually(t, "orbit freed", func() bool { return len(p.ParkedCalls()) == 0 })
			if tc.fallback == "" {
				_, err := parked.WaitState(ctx(t), phone.Ended)
				require.NoError(t, err)
				assert.Equal(t, "remote", parked.EndedBy())
				return
			}
			in, err := l.phone("carol").NextIncoming(ctx(t))
			require.NoError(t, err)
			assert.Equal(t, "dave", in.Remote())
			require.NoError(t, in.Answer())
			l.established(in)
			_, err = parked.WaitState(ctx(t), phone.Ended)
			require.NoError(t, err, "the parked leg ends once the transfer succeeded")
		})
	}
}

func TestPoolOutageLosesParkedCalls(t *testing.T) {
	l := newParkLab(t, nil)
	parked := parkForTimeout(t, l)
	require.NoError(t, l.net.Outage(pool01))
	p, _ := l.net.Pool(pool01)
	assert.Empty(t, p.ParkedCalls())
	// The dead Call Park application cannot tell the parkee: its BYE goes unanswered and
	// the call ends on the phone alone.
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	require.Error(t, parked.Hangup(short))
	assert.Equal(t, phone.Ended, parked.State())
	l.clock.Advance(park.DefaultCallPickupTimeoutThreshold) // no ring-back from a dead pool
	assert.Zero(t, l.clock.Pending())
}
