package sip

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// Phones learn that the far end of a call died as real phones do: from silence on the
// media (the RTP inactivity timeout) and from unanswered session refreshes (RFC 4028),
// both on the virtual clock (issue 9.1).

// TestParkedCallEndsWhenItsPoolFails: Lync's Call Park experience during pool failure
// says of a call parked but not retrieved: "Call is disconnected."
func TestParkedCallEndsWhenItsPoolFails(t *testing.T) {
	l := newParkLab(t, nil)
	parked := parkForTimeout(t, l)
	require.NoError(t, l.net.Outage(pool01))

	l.clock.Advance(phone.DefaultRTPTimeout - time.Second)
	assert.Equal(t, phone.Established, parked.State(), "the RTP timeout has not run out yet")
	l.clock.Advance(time.Second)
	assert.Equal(t, phone.Ended, parked.State(), "the parked call is disconnected once its music on hold has been silent for 30 s")
	assert.Equal(t, "no media for 30s", parked.EndReason())
	assert.Equal(t, "local", parked.EndedBy())
}

// TestMediaIsCheckedEveryRTPTimeout: the phone checks its media RTPTimeout after the
// call was set up, then after each check that found it flowing; the first check that
// finds it silent ends the call, within RTPTimeout of the far end's death.
func TestMediaIsCheckedEveryRTPTimeout(t *testing.T) {
	l := newParkLab(t, nil)
	parked := parkForTimeout(t, l)
	l.clock.Advance(40 * time.Second) // one check, at 30 s: music on hold flows
	require.NoError(t, l.net.Outage(pool01))
	l.clock.Advance(20*time.Second - time.Millisecond)
	assert.Equal(t, phone.Established, parked.State(), "the next check is at 60 s")
	l.clock.Advance(time.Millisecond)
	assert.Equal(t, phone.Ended, parked.State())
	assert.Equal(t, "no media for 30s", parked.EndReason())
}

// TestParkedCallWithoutMusicEndsOnItsSessionTimer: with music on hold off the Call Park
// application answers recvonly, so silence is intended and the RTP timeout does not
// apply; the session timer still finds the dead pool.
func TestParkedCallWithoutMusicEndsOnItsSessionTimer(t *testing.T) {
	cfg := park.DefaultCPSConfig()
	cfg.EnableMusicOnHold = false
	l := newParkLab(t, &cfg)
	parked := parkForTimeout(t, l)
	require.NoError(t, l.net.Outage(pool01))

	l.clock.Advance(lync.SessionExpires/2 - time.Second)
	require.Equal(t, phone.Established, parked.State(), "a silent park (recvonly) is not a dead line: %s", parked.EndReason())
	l.clock.Advance(time.Second)
	assert.Equal(t, phone.Ended, parked.State())
	assert.Contains(t, parked.EndReason(), "session timer expired: refresh unanswered")
	assert.Contains(t, parked.EndReason(), "unreachable")
}

// TestSessionRefreshesKeepACallParkCallUp: the Call Park application answers the
// refreshes of the legs it connected, so a picked-up call lasts.
func TestSessionRefreshesKeepACallParkCallUp(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol")
	out, _ := l.ring("alice", "bob")
	pick := l.pickUp("carol", "100", "alice")
	l.established(out)

	l.clock.Advance(2 * time.Hour)
	for _, c := range []*phone.Call{out, pick} {
		assert.Equal(t, phone.Established, c.State(), c.EndReason())
		assert.Equal(t, 8, c.SessionRefreshes(), "a refresh every 15 minutes")
	}
	mediaFlows(t, out, pick, 5)
}

// TestLiveCallSurvivesVirtualTime: a jump of virtual time fires every RTP deadline at
// once, but media that flows says the call is alive at each of them.
func TestLiveCallSurvivesVirtualTime(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob")
	out, in := l.ring("alice", "bob")
	require.NoError(t, in.Answer())
	l.established(out, in)

	l.clock.Advance(2 * time.Hour)
	assert.Equal(t, phone.Established, out.State(), out.EndReason())
	assert.Equal(t, phone.Established, in.State(), in.EndReason())
	mediaFlows(t, out, in, 5)
	require.NoError(t, out.Hangup(ctx(t)))
	_, err := in.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
	assert.Equal(t, "hung up by the other party", in.EndReason())
}

// TestPickedUpCallWhosePoolFails: a picked-up call is two legs of the Call Park
// application; when its pool fails and the picker hangs up, the BYE reaches nobody
// (SPEC section 5: either party can still hang up normally). The caller learns it from
// the silence.
func TestPickedUpCallWhosePoolFails(t *testing.T) {
	l, out, pick := pickedUpThenOutage(t)
	err := pick.Hangup(ctx(t))
	require.ErrorIs(t, err, phone.ErrUnreachable, "the BYE goes to the dead Call Park application")
	assert.Equal(t, phone.Ended, pick.State())
	assert.Equal(t, phone.Established, out.State())

	l.clock.Advance(phone.DefaultRTPTimeout)
	assert.Equal(t, phone.Ended, out.State(), "the caller is not left talking to nobody")
	assert.Equal(t, "no media for 30s", out.EndReason())
}

// TestPickedUpCallOutlivesItsPoolUntilTheNextRefresh: both parties keep talking (media
// goes phone to phone), but the signalling they share died with the pool: the next
// session refresh ends both legs, as Lync's session timers would.
func TestPickedUpCallOutlivesItsPoolUntilTheNextRefresh(t *testing.T) {
	l, out, pick := pickedUpThenOutage(t)
	l.clock.Advance(lync.SessionExpires/2 - time.Second)
	assert.Equal(t, phone.Established, out.State())
	assert.Equal(t, phone.Established, pick.State())
	l.clock.Advance(time.Second)
	for _, c := range []*phone.Call{out, pick} {
		assert.Equal(t, phone.Ended, c.State())
		assert.Contains(t, c.EndReason(), "session timer expired: refresh unanswered")
	}
}

// pickedUpThenOutage has carol pick up alice's call to bob, then pool01 (whose Call Park
// application connected them) fail. It returns alice's and carol's legs.
func pickedUpThenOutage(t *testing.T) (*lab, *phone.Call, *phone.Call) {
	t.Helper()
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol")
	out, _ := l.ring("alice", "bob")
	pick := l.pickUp("carol", "100", "alice")
	l.established(out)
	require.NoError(t, l.net.Outage(pool01))
	return l, out, pick
}

// TestRTPTimeoutIsATopologySetting: a topology sets its phones' RTP timeout.
func TestRTPTimeoutIsATopologySetting(t *testing.T) {
	topo := labTopology()
	topo.Orbits = append(topo.Orbits, park.OrbitRange{Identity: "park-pool02", NumberRangeStart: "8000", NumberRangeEnd: "8001", CallParkService: pool02})
	topo.Phones.RTPTimeout = 10 * time.Second
	l := newLab(t, topo)
	parked := parkForTimeout(t, l)
	require.NoError(t, l.net.Outage(pool01))
	l.clock.Advance(10 * time.Second)
	assert.Equal(t, "no media for 10s", parked.EndReason())
}

// TestDeadLegsAreFound: the invariant every test ends with finds a parked call whose
// pool died, until the phone's RTP timeout ended it.
func TestDeadLegsAreFound(t *testing.T) {
	l := newParkLab(t, nil)
	parked := parkForTimeout(t, l)
	require.NoError(t, l.net.Outage(pool01))
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := l.fleet.CheckNoDeadLegs(short)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dave's call to park")
	assert.Contains(t, err.Error(), "unreachable")

	l.clock.Advance(phone.DefaultRTPTimeout)
	assert.Equal(t, phone.Ended, parked.State())
	assert.NoError(t, l.fleet.CheckNoDeadLegs(ctx(t)))
}
