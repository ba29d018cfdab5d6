package sip

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/dialoginfo/xsdcheck"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// lamp waits until watcher's key for target shows state (and, when given, caller), and
// returns it.
func (l *lab) lamp(watcher, target, state, caller string) phone.Lamp {
	l.t.Helper()
	lp, err := l.phone(watcher).WaitLamp(ctx(l.t), target, func(lp phone.Lamp) bool {
		return lp.State == state && (caller == "" || lp.Caller == caller)
	})
	require.NoError(l.t, err, "%s's lamp for %s", watcher, target)
	return lp
}

func (l *lab) subscribe(watcher string, targets ...string) {
	l.t.Helper()
	for _, target := range targets {
		require.NoError(l.t, l.phone(watcher).Subscribe(ctx(l.t), target), "%s watches %s", watcher, target)
	}
}

// A colleague's lamp over real SIP (RFC 4235): the full state at once, then early with the
// caller and the dialog identifiers a Replaces needs, confirmed when answered, terminated
// when the call ends phone to phone (the pool learns it from a dialog probe on its clock).
// A colleague on the other pool is watched the same way, through the watcher's own pool.
func TestBusyLampOfAUserFollowsTheCall(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol", "dave", "erin")
	l.subscribe("carol", "bob")
	l.subscribe("erin", "bob") // erin is on pool02: pool02 watches bob at pool01 for her
	l.lamp("carol", "bob", dialoginfo.Terminated, "")
	l.lamp("erin", "bob", dialoginfo.Terminated, "")

	out, in := l.ring("alice", "bob")
	for _, w := range []string{"carol", "erin"} {
		lp := l.lamp(w, "bob", dialoginfo.Early, "alice")
		assert.Equal(t, out.ID, lp.Dialog.CallID, "%s's lamp names the call", w)
		assert.NotEmpty(t, lp.Dialog.LocalTag, "bob's tag")
		assert.NotEmpty(t, lp.Dialog.RemoteTag, "alice's tag")
		assert.Equal(t, "recipient", lp.Dialog.Direction)
	}
	require.NoError(t, in.Answer())
	l.established(out, in)
	l.lamp("carol", "bob", dialoginfo.Confirmed, "alice")
	l.lamp("erin", "bob", dialoginfo.Confirmed, "alice")

	require.NoError(t, out.Hangup(ctx(t)))
	_, err := in.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
	lp, _ := l.phone("carol").Lamp("bob")
	assert.Equal(t, dialoginfo.Confirmed, lp.State, "a BYE phone to phone passes no pool: the lamp learns at the next probe")
	l.clock.Advance(DialogProbeInterval)
	l.lamp("carol", "bob", dialoginfo.Terminated, "")
	l.lamp("erin", "bob", dialoginfo.Terminated, "")

	p1, _ := l.net.Pool(pool01)
	subs := p1.Subscriptions()
	require.Len(t, subs, 2, "carol's, and pool02's for erin")
	assert.True(t, subs[1].Peer || subs[0].Peer)
}

// Outsiders cannot watch, nor can a phone watch through a pool it is not registered on;
// something that is no lamp at all is 404.
func TestBusyLampRefusals(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("carol")
	stranger := unregisteredPhone(t, l, "mallory", "contoso.com")
	stranger.SetRegistrars([]string{l.addr(pool01)})
	err := stranger.Subscribe(ctx(t), "bob")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "403")
	err = l.phone("carol").Subscribe(ctx(t), "nobody")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "404")
	lp, _ := l.phone("carol").Lamp("nobody")
	assert.Equal(t, dialoginfo.Unknown, lp.State)
}

func (l *lab) addr(pool string) string {
	p, _ := l.net.Pool(pool)
	return p.Addr()
}

// Group and orbit lamps: a call ringing a member lights the group's lamp early with the
// caller and the rung member; a parked call lights its orbit's lamp and the range's, with
// the parkee; each goes dark when the call leaves. Every NOTIFY body validates against RFC
// 4235's schema.
func TestBusyLampsOfAGroupAndAnOrbit(t *testing.T) {
	l := newParkLab(t, nil)
	l.registerAll("alice", "bob", "carol", "dave", "erin")
	l.subscribe("erin", "100", "7000", "park-pool01")
	out, in := l.ring("alice", "bob")
	lp := l.lamp("erin", "100", dialoginfo.Early, "alice")
	assert.Equal(t, "bob", lp.Callee)
	assert.Equal(t, out.ID, lp.Dialog.CallID)
	require.NoError(t, out.Hangup(ctx(t)))
	_, err := in.WaitState(ctx(t), phone.Cancelled)
	require.NoError(t, err)
	l.lamp("erin", "100", dialoginfo.Terminated, "")

	orbit := l.park("dave", "alice")
	require.Equal(t, "7000", orbit)
	l.lamp("erin", "7000", dialoginfo.Confirmed, "alice")
	l.lamp("erin", "park-pool01", dialoginfo.Confirmed, "alice")
	leg := l.parkedLeg("alice")
	require.NoError(t, leg.Hangup(ctx(t)))
	l.lamp("erin", "7000", dialoginfo.Terminated, "")
	l.lamp("erin", "park-pool01", dialoginfo.Terminated, "")
}

// The NOTIFY bodies the phones received validate against RFC 4235's schema (section 4.4):
// idle, early with the pickup extension, terminated with an event, unknown.
func TestBusyLampBodiesValidateAgainstTheRFCSchema(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol", "erin")
	l.subscribe("carol", "bob", "100")
	l.subscribe("erin", "bob")
	out, in := l.ring("alice", "bob")
	l.lamp("carol", "bob", dialoginfo.Early, "alice")
	l.lamp("carol", "100", dialoginfo.Early, "alice")
	require.NoError(t, out.Hangup(ctx(t)))
	_, _ = in.WaitState(ctx(t), phone.Cancelled)
	l.lamp("carol", "bob", dialoginfo.Terminated, "")
	l.do(l.net.Outage, pool01)
	l.lamp("erin", "bob", dialoginfo.Unknown, "")
	var bodies [][]byte
	for _, k := range []struct{ who, what string }{{"carol", "bob"}, {"carol", "100"}, {"erin", "bob"}} {
		for _, lp := range l.phone(k.who).LampHistory(k.what) {
			if lp.Body != nil {
				bodies = append(bodies, lp.Body)
			}
		}
	}
	require.GreaterOrEqual(t, len(bodies), 7)
	xsdcheck.Require(t, bodies...)
}

// A NOTIFY that gets no answer ends the subscription (RFC 6665 section 4.2.2): a phone that
// is gone without unsubscribing is not notified for ever.
func TestBusyLampNotifyUnansweredEndsTheSubscription(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob")
	gone := unregisteredPhone(t, l, "dave", l.net.Domain())
	_, err := gone.Register(ctx(t))
	require.NoError(t, err)
	require.NoError(t, gone.Subscribe(ctx(t), "bob"))
	p1, _ := l.net.Pool(pool01)
	require.Len(t, p1.Subscriptions(), 1)
	gone.Close() // the phone vanishes: its NOTIFYs are never answered

	out, in := l.ring("alice", "bob")
	require.Eventually(t, func() bool {
		l.clock.Advance(notifyTimeout) // Timer F, on the simulation clock
		return len(p1.Subscriptions()) == 0
	}, 10*time.Second, 50*time.Millisecond, "the subscription ended")
	require.NoError(t, out.Hangup(ctx(t)))
	_, err = in.WaitState(ctx(t), phone.Cancelled)
	require.NoError(t, err)
}
