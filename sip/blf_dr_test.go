package sip

import (
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// lampKey is one busy lamp key: a watcher's phone and what it watches.
type lampKey struct{ watcher, target string }

// lampsAfter runs a change and checks that every key then shows its wanted state, and
// that no NOTIFY received after the change showed anything else: the first NOTIFY after a
// change of phase already tells the truth, and none lies afterwards (a key may go unknown
// in between, while its phone subscribes again; that is no lie).
func (l *lab) lampsAfter(phase string, want map[lampKey]string, change func()) {
	l.t.Helper()
	marks := map[lampKey]int{}
	for k := range want {
		marks[k] = len(l.phone(k.watcher).LampHistory(k.target))
	}
	change()
	keys := make([]lampKey, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	for _, k := range keys {
		state := want[k]
		_, err := l.phone(k.watcher).WaitLamp(ctx(l.t), k.target, func(lp phone.Lamp) bool {
			return lp.State == state && lp.Active
		})
		require.NoError(l.t, err, "%s: %s's lamp for %s", phase, k.watcher, k.target)
		quiet(l.t, l.net)
		for i, lp := range l.phone(k.watcher).LampHistory(k.target)[marks[k]:] {
			if lp.Active && lp.Body != nil && !settingUp(lp.State, state) {
				require.Equal(l.t, state, lp.State, "%s: NOTIFY %d after the change to %s's lamp for %s lied (%s)",
					phase, i+1, k.watcher, k.target, lp.Why)
			}
		}
	}
}

// settingUp reports whether a lamp showing state is on its way to want: a call tried
// before the callee's phone rings (RFC 4235's trying and proceeding, then early).
func settingUp(state, want string) bool {
	return want == dialoginfo.Early && (state == dialoginfo.Trying || state == dialoginfo.Proceeding)
}

// lampsOf is the wanted state of the same targets for several watchers.
func lampsOf(watchers []string, states map[string]string) map[lampKey]string {
	out := map[lampKey]string{}
	for _, w := range watchers {
		for target, s := range states {
			out[lampKey{w, target}] = s
		}
	}
	return out
}

// Busy lamps through the whole runbook (issue 13): erin (pool02's own user) and carol
// (pool01's, who moves) watch bob, group 100 and orbit 7000, all of pool01. At each step the
// lamps tell the truth within one NOTIFY: the outage loses pool01's subscriptions and its
// parked call, and every lamp of pool01's resources says unknown rather than what it showed;
// carol's phone subscribes again on the backup when it signs in there; the orbit and group
// stay unknown, never lit, until Set-CsCallParkOrbit moves their ranges; on the backup the
// lamps follow calls and a BLF pickup by Replaces works; failback brings them home.
func TestBusyLampsThroughDisasterRecovery(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol", "dave", "erin")
	watchers := []string{"carol", "erin"}
	for _, w := range watchers {
		l.subscribe(w, "bob", "100", "7000")
	}
	const (
		idle    = dialoginfo.Terminated
		unknown = dialoginfo.Unknown
	)

	// Normal: a call parked on pool01 lights the orbit's lamp for both.
	l.lampsAfter("park on pool01", lampsOf(watchers, map[string]string{"bob": idle, "100": idle, "7000": dialoginfo.Confirmed}), func() {
		require.Equal(t, "7000", l.park("dave", "alice"))
	})

	// Outage: pool02 knows at once that pool01's resources are unknown (the parked call is
	// lost with pool01; SPEC section 5). carol's subscriptions died with pool01: no NOTIFY
	// can come, her phone subscribes again once it signs in elsewhere.
	l.lampsAfter("outage", lampsOf([]string{"erin"}, map[string]string{"bob": unknown, "100": unknown, "7000": unknown}), func() {
		l.do(l.net.Outage, pool01)
	})

	// Registrar failover timer: bob is served by pool02 (resiliency mode), so his lamp is
	// known again (idle); the ranges are still owned by the dead pool.
	l.lampsAfter("registrar failover timer, sign-in to the backup", lampsOf(watchers, map[string]string{"bob": idle, "100": unknown, "7000": unknown}), func() {
		l.clock.Advance(topology.DefaultRegistrarFailoverTimer)
		l.reregister(topology.Resiliency, pool02, "alice", "bob", "carol", "dave")
	})

	l.lampsAfter("failover", lampsOf(watchers, map[string]string{"bob": idle, "100": unknown, "7000": unknown}), func() {
		l.do(l.net.InvokeFailOver, pool01)
		l.do(l.net.CompleteFailOver, pool01)
		l.reregister(topology.NormalMode, pool02, "alice", "bob", "carol", "dave")
	})

	l.lampsAfter("Set-CsCallParkOrbit to the backup", lampsOf(watchers, map[string]string{"bob": idle, "100": idle, "7000": idle}), func() {
		require.NoError(t, l.net.RedirectCallParkOrbit("park-pool01", pool02))
		require.NoError(t, l.net.RedirectCallParkOrbit("pickup-pool01", pool02))
	})

	// On the backup: a call ringing bob lights his lamp and the group's; carol picks it up
	// by Replaces from her lamp of bob.
	var out, in *phone.Call
	l.lampsAfter("a call rings bob on the backup", lampsOf(watchers, map[string]string{"bob": dialoginfo.Early, "100": dialoginfo.Early, "7000": idle}), func() {
		out, in = l.ring("alice", "bob")
	})
	pick, err := l.phone("carol").PickUpByReplaces("bob")
	require.NoError(t, err)
	l.pickedUp(pick, out, in, "alice")
	l.lamp("erin", "bob", idle, "")
	l.lamp("erin", "100", idle, "")
	require.NoError(t, pick.Hangup(ctx(t)))
	_, err = out.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)

	// Failback: pool01 recovers, its users sign in there again (resiliency mode until the
	// failback completes); their keys follow them home.
	l.lampsAfter("failback", lampsOf(watchers, map[string]string{"bob": idle, "100": idle, "7000": idle}), func() {
		l.do(l.net.Recover, pool01)
		l.do(l.net.InvokeFailBack, pool01)
		l.reregister(topology.Resiliency, pool01, "alice", "bob", "carol", "dave")
	})
	// Failback complete, the group's range still on pool02: Group Call Pickup is not
	// available until it is redirected back (the seed), so its lamp says unknown, not idle.
	l.lampsAfter("failback complete", lampsOf(watchers, map[string]string{"bob": idle, "100": unknown, "7000": idle}), func() {
		l.do(l.net.CompleteFailBack, pool01)
		l.reregister(topology.NormalMode, pool01, "alice", "bob", "carol", "dave")
	})
	l.lampsAfter("Set-CsCallParkOrbit back home", lampsOf(watchers, map[string]string{"bob": idle, "100": idle, "7000": idle}), func() {
		require.NoError(t, l.net.RedirectCallParkOrbit("park-pool01", pool01))
		require.NoError(t, l.net.RedirectCallParkOrbit("pickup-pool01", pool01))
	})
	p1, _ := l.net.Pool(pool01)
	var carols int
	for _, s := range p1.Subscriptions() {
		if s.Subscriber == "carol" {
			carols++
		}
	}
	require.Equal(t, 3, carols, "carol's keys subscribed on pool01 again: %+v", p1.Subscriptions())

	// Home again: the lamps follow a parked call on pool01.
	l.lampsAfter("park on pool01 after failback", lampsOf(watchers, map[string]string{"bob": idle, "100": idle, "7000": dialoginfo.Confirmed}), func() {
		require.Equal(t, "7000", l.park("dave", "alice"))
	})
	require.NoError(t, l.parkedLeg("alice").Hangup(ctx(t)))
}

// quiet waits until no pool has a NOTIFY (or any other request of its own) under way, so a
// test that moves the virtual clock next does not time out one whose answer is on its way.
func quiet(t *testing.T, n *Network) {
	t.Helper()
	eventually(t, "the pools' NOTIFYs answered", func() bool {
		for _, p := range n.allPools() {
			if p.OwnSends() > 0 {
				return false
			}
		}
		return true
	})
}
