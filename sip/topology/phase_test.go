package topology

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cell is one cell of the disaster-recovery transition table: a pool in state from gets
// event ev. to is where a legal event leads; a nil to means the event is illegal, and why is
// part of the explanation the administrator reads.
type cell struct {
	from state
	ev   Event
	to   *state
	why  string
}

func goesTo(p Phase, up bool) *state { return &state{p, up} }

// transitionTable is every cell of every reachable state (SPEC section 5, phase.go).
var transitionTable = []cell{
	// normal, up: the pool serves its own users.
	{state{Normal, true}, PoolOutage, goesTo(Outage, false), ""},
	{state{Normal, true}, PoolRecovery, nil, "it is already up"},
	{state{Normal, true}, FailOverStart, nil, "it is up and serving its users"},
	{state{Normal, true}, FailOverComplete, nil, "its phase is normal, and only a failover in progress can complete"},
	{state{Normal, true}, FailBackStart, nil, "its phase is normal, and failback needs a completed failover"},
	{state{Normal, true}, FailBackComplete, nil, "its phase is normal, and only a failback in progress can complete"},
	{state{Normal, true}, PlannedFailOverStart, goesTo(FailingOver, true), ""},

	// outage, down: P stopped answering, not yet failed over.
	{state{Outage, false}, PoolOutage, nil, "it is already down"},
	{state{Outage, false}, PoolRecovery, goesTo(Normal, true), ""},
	{state{Outage, false}, FailOverStart, goesTo(FailingOver, false), ""},
	{state{Outage, false}, FailOverComplete, nil, "its phase is outage, and only a failover in progress can complete"},
	{state{Outage, false}, FailBackStart, nil, "its phase is outage, and failback needs a completed failover"},
	{state{Outage, false}, FailBackComplete, nil, "its phase is outage, and only a failback in progress can complete"},
	{state{Outage, false}, PlannedFailOverStart, nil, "it is not answering: a pool that is down is failed over with -DisasterMode"},

	// failing over, down.
	{state{FailingOver, false}, PoolOutage, nil, "it is already down"},
	{state{FailingOver, false}, PoolRecovery, goesTo(FailingOver, true), ""},
	{state{FailingOver, false}, FailOverStart, nil, "a failover is already in progress"},
	{state{FailingOver, false}, FailOverComplete, goesTo(FailedOver, false), ""},
	{state{FailingOver, false}, FailBackStart, nil, "its phase is failing-over, and failback needs a completed failover"},
	{state{FailingOver, false}, FailBackComplete, nil, "its phase is failing-over, and only a failback in progress can complete"},
	{state{FailingOver, false}, PlannedFailOverStart, nil, "a failover is already in progress"},

	// failing over, up again: a pool that comes back stays in the failover until failback.
	{state{FailingOver, true}, PoolOutage, goesTo(FailingOver, false), ""},
	{state{FailingOver, true}, PoolRecovery, nil, "it is already up"},
	{state{FailingOver, true}, FailOverStart, nil, "a failover is already in progress"},
	{state{FailingOver, true}, FailOverComplete, goesTo(FailedOver, true), ""},
	{state{FailingOver, true}, FailBackStart, nil, "its phase is failing-over, and failback needs a completed failover"},
	{state{FailingOver, true}, FailBackComplete, nil, "its phase is failing-over, and only a failback in progress can complete"},
	{state{FailingOver, true}, PlannedFailOverStart, nil, "a failover is already in progress"},

	// failed over, down.
	{state{FailedOver, false}, PoolOutage, nil, "it is already down"},
	{state{FailedOver, false}, PoolRecovery, goesTo(FailedOver, true), ""},
	{state{FailedOver, false}, FailOverStart, nil, "its phase is failed-over, and failover starts from an outage"},
	{state{FailedOver, false}, FailOverComplete, nil, "its phase is failed-over, and only a failover in progress can complete"},
	{state{FailedOver, false}, FailBackStart, nil, "it is still down; failback needs the pool answering again"},
	{state{FailedOver, false}, FailBackComplete, nil, "its phase is failed-over, and only a failback in progress can complete"},
	{state{FailedOver, false}, PlannedFailOverStart, nil, "it is already failed over"},

	// failed over, up: ready for Invoke-CsPoolFailBack.
	{state{FailedOver, true}, PoolOutage, goesTo(FailedOver, false), ""},
	{state{FailedOver, true}, PoolRecovery, nil, "it is already up"},
	{state{FailedOver, true}, FailOverStart, nil, "its phase is failed-over, and failover starts from an outage"},
	{state{FailedOver, true}, FailOverComplete, nil, "its phase is failed-over, and only a failover in progress can complete"},
	{state{FailedOver, true}, FailBackStart, goesTo(FailingBack, true), ""},
	{state{FailedOver, true}, FailBackComplete, nil, "its phase is failed-over, and only a failback in progress can complete"},
	{state{FailedOver, true}, PlannedFailOverStart, nil, "it is already failed over"},

	// failing back, up.
	{state{FailingBack, true}, PoolOutage, goesTo(Outage, false), ""},
	{state{FailingBack, true}, PoolRecovery, nil, "it is already up"},
	{state{FailingBack, true}, FailOverStart, nil, "its phase is failing-back, and failover starts from an outage"},
	{state{FailingBack, true}, FailOverComplete, nil, "its phase is failing-back, and only a failover in progress can complete"},
	{state{FailingBack, true}, FailBackStart, nil, "a failback is already in progress"},
	{state{FailingBack, true}, FailBackComplete, goesTo(Normal, true), ""},
	{state{FailingBack, true}, PlannedFailOverStart, nil, "its phase is failing-back, and a planned failover starts from normal operation"},
}

// allEvents lists every event.
var allEvents = []Event{PoolOutage, PoolRecovery, FailOverStart, FailOverComplete, FailBackStart, FailBackComplete, PlannedFailOverStart}

// The test table itself covers every event in every reachable state, exactly once.
func TestTransitionTableTestCoversEveryCell(t *testing.T) {
	seen := map[string]int{}
	for _, c := range transitionTable {
		seen[fmt.Sprintf("%s %s", c.from, c.ev)]++
	}
	for s := range pathTo {
		for _, ev := range allEvents {
			assert.Equal(t, 1, seen[fmt.Sprintf("%s %s", s, ev)], "%s on %s", ev, s)
		}
	}
	assert.Len(t, transitionTable, len(pathTo)*len(allEvents))
}

// Rule (STYLE, SPEC section 5): phases are an explicit enum with a transition table; a
// legal event moves the pool to the next phase, an illegal one is an error wrapping
// ErrIllegalTransition that explains why, and leaves the deployment exactly as it was.
func TestTransitionTable(t *testing.T) {
	for _, c := range transitionTable {
		t.Run(fmt.Sprintf("%s/%s", c.from, c.ev), func(t *testing.T) {
			d := newDeployment(t)
			drive(t, d, pool01, c.from)
			before := snap(d)

			tr, err := d.Apply(pool01, c.ev, at(1000))

			if c.to == nil {
				require.ErrorIs(t, err, ErrIllegalTransition)
				assert.Contains(t, err.Error(), c.why)
				assert.Contains(t, err.Error(), pool01, "the error names the pool")
				assert.Contains(t, err.Error(), c.ev.String(), "the error names the event")
				assert.Equal(t, Transition{}, tr)
				assert.Equal(t, before, snap(d), "an illegal event changes nothing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, pool01, tr.Pool)
			assert.Equal(t, c.ev, tr.Event)
			assert.Equal(t, c.from.phase, tr.From)
			assert.Equal(t, c.to.phase, tr.To)
			assert.Equal(t, c.to.up, tr.Up)
			requireState(t, d, pool01, *c.to)
			requireState(t, d, pool02, state{Normal, true}) // the backup's own phase is untouched
		})
	}
}

// The transition table reaches exactly the seven states the tests drive pools into: a
// normal pool always answers, a pool in outage never does, and failback needs the pool up.
func TestTransitionTableReachableStates(t *testing.T) {
	reached := map[state]bool{{Normal, true}: true}
	queue := []state{{Normal, true}}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, row := range transitions[s.phase] {
			if row.needUp != nil && *row.needUp != s.up {
				continue
			}
			next := state{row.to, s.up}
			if row.setUp != nil {
				next.up = *row.setUp
			}
			if !reached[next] {
				reached[next] = true
				queue = append(queue, next)
			}
		}
	}
	want := map[state]bool{}
	for s := range pathTo {
		want[s] = true
	}
	assert.Equal(t, want, reached)
}

// Seed: "During failback to the primary pool ..." — failback follows a failover. A pool
// that never failed over cannot fail back, and the administrator is told so.
func TestFailbackOfAPoolThatNeverFailedOver(t *testing.T) {
	for _, s := range []state{{Normal, true}, {Outage, false}} {
		t.Run(s.String(), func(t *testing.T) {
			d := newDeployment(t)
			drive(t, d, pool01, s)
			_, err := d.Apply(pool01, FailBackStart, t0)
			require.ErrorIs(t, err, ErrIllegalTransition)
			assert.Contains(t, err.Error(), "failback needs a completed failover")
			assert.Contains(t, err.Error(), "Invoke-CsPoolFailBack on "+pool01)
		})
	}
}

// Rule (SPEC section 5): failover moves the users to the backup pool, so Invoke-CsPoolFailOver
// needs a backup that exists, answers, and is itself normal.
func TestRuleFailoverNeedsABackupThatIsUpAndNormal(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Topology)
		setup  []event
		pool   string
		why    string
	}{
		{
			name:  "backup down",
			setup: []event{on(pool02, PoolOutage), on(pool01, PoolOutage)},
			pool:  pool01,
			why:   "its backup pool " + pool02 + " is down",
		},
		{
			name: "backup failed over itself",
			setup: []event{on(pool02, PoolOutage), on(pool02, FailOverStart), on(pool02, FailOverComplete),
				on(pool02, PoolRecovery), on(pool01, PoolOutage)},
			pool: pool01,
			why:  "its backup pool " + pool02 + " is failed-over",
		},
		{
			name: "backup failing over itself and up again",
			setup: []event{on(pool02, PoolOutage), on(pool02, FailOverStart), on(pool02, PoolRecovery),
				on(pool01, PoolOutage)},
			pool: pool01,
			why:  "its backup pool " + pool02 + " is failing-over",
		},
		{
			name: "backup failing back",
			setup: []event{on(pool02, PoolOutage), on(pool02, FailOverStart), on(pool02, FailOverComplete),
				on(pool02, PoolRecovery), on(pool02, FailBackStart), on(pool01, PoolOutage)},
			pool: pool01,
			why:  "its backup pool " + pool02 + " is failing-back",
		},
		{
			name: "no backup",
			mutate: func(t *Topology) {
				t.Pools = append(t.Pools, Pool{FQDN: pool03})
			},
			setup: []event{on(pool03, PoolOutage)},
			pool:  pool03,
			why:   "it has no backup pool",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mutate []func(*Topology)
			if tt.mutate != nil {
				mutate = append(mutate, tt.mutate)
			}
			d := newDeployment(t, mutate...)
			apply(t, d, tt.setup...)
			before := snap(d)

			tr, err := d.Apply(tt.pool, FailOverStart, at(time.Minute))

			require.ErrorIs(t, err, ErrIllegalTransition)
			assert.Contains(t, err.Error(), tt.why)
			assert.Contains(t, err.Error(), "Invoke-CsPoolFailOver -DisasterMode on "+tt.pool)
			assert.Equal(t, Transition{}, tr)
			assert.Equal(t, before, snap(d))
		})
	}
}

// The same failover succeeds once the backup is back to normal.
func TestRuleFailoverSucceedsOnceTheBackupIsNormalAgain(t *testing.T) {
	d := newDeployment(t)
	apply(t, d, on(pool02, PoolOutage), on(pool01, PoolOutage))
	_, err := d.Apply(pool01, FailOverStart, t0)
	require.ErrorIs(t, err, ErrIllegalTransition)

	apply(t, d, on(pool02, PoolRecovery), on(pool01, FailOverStart))
	requireState(t, d, pool01, state{FailingOver, false})
}

func TestApplyUnknownPool(t *testing.T) {
	d := newDeployment(t)
	before := snap(d)
	_, err := d.Apply("pool09.contoso.com", PoolOutage, t0)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrIllegalTransition)
	assert.Contains(t, err.Error(), `"pool09.contoso.com"`)
	assert.Equal(t, before, snap(d))
}

// The whole seed walk, normal to normal again, event by event.
func TestDisasterRecoveryWalk(t *testing.T) {
	d := newDeployment(t)
	walk := []struct {
		ev   Event
		want state
	}{
		{PoolOutage, state{Outage, false}},
		{FailOverStart, state{FailingOver, false}},
		{FailOverComplete, state{FailedOver, false}},
		{PoolRecovery, state{FailedOver, true}},
		{FailBackStart, state{FailingBack, true}},
		{FailBackComplete, state{Normal, true}},
	}
	prev := state{Normal, true}
	for _, w := range walk {
		tr, err := d.Apply(pool01, w.ev, t0)
		require.NoError(t, err, "%s", w.ev)
		assert.Equal(t, prev.phase, tr.From, "%s", w.ev)
		assert.Equal(t, w.want.phase, tr.To, "%s", w.ev)
		assert.Equal(t, w.want.up, tr.Up, "%s", w.ev)
		requireState(t, d, pool01, w.want)
		prev = w.want
	}
}

func TestParsePhaseRoundTrip(t *testing.T) {
	for _, p := range []Phase{Normal, Outage, FailingOver, FailedOver, FailingBack} {
		got, err := ParsePhase(p.String())
		require.NoError(t, err, p.String())
		assert.Equal(t, p, got)
	}
	assert.Equal(t, []string{"normal", "outage", "failing-over", "failed-over", "failing-back"},
		[]string{Normal.String(), Outage.String(), FailingOver.String(), FailedOver.String(), FailingBack.String()})
}

func TestParsePhaseRejectsUnknownNames(t *testing.T) {
	for _, s := range []string{"", "Normal", "failover", "failed_over", "phase(5)"} {
		_, err := ParsePhase(s)
		require.Error(t, err, "%q", s)
		assert.Contains(t, err.Error(), fmt.Sprintf("%q", s))
		assert.Contains(t, err.Error(), "failing-back", "the error lists the names")
	}
}

func TestPhaseStringOutOfRange(t *testing.T) {
	assert.Equal(t, "phase(-1)", Phase(-1).String())
	assert.Equal(t, "phase(5)", Phase(5).String())
}

func TestEventString(t *testing.T) {
	assert.Equal(t, []string{"pool outage", "pool recovery", "Invoke-CsPoolFailOver -DisasterMode", "failover completion",
		"Invoke-CsPoolFailBack", "failback completion", "Invoke-CsPoolFailOver"},
		[]string{PoolOutage.String(), PoolRecovery.String(), FailOverStart.String(), FailOverComplete.String(),
			FailBackStart.String(), FailBackComplete.String(), PlannedFailOverStart.String()})
	assert.Equal(t, "event(-1)", Event(-1).String())
	assert.Equal(t, "event(7)", Event(7).String())
}

// Issue 9.6: failing over a pool that has no backup says so, whatever the pool's state and
// whichever kind of failover is asked for.
func TestFailoverWithoutBackupSaysSoInEveryState(t *testing.T) {
	for _, s := range []state{{Normal, true}, {Outage, false}} {
		for _, ev := range []Event{FailOverStart, PlannedFailOverStart} {
			t.Run(s.String()+"/"+ev.String(), func(t *testing.T) {
				d := newDeployment(t, func(topo *Topology) { topo.Pools = append(topo.Pools, Pool{FQDN: pool03}) })
				if !s.up {
					apply(t, d, on(pool03, PoolOutage))
				}
				before := snap(d)
				_, err := d.Apply(pool03, ev, t0)
				require.ErrorIs(t, err, ErrIllegalTransition)
				assert.Contains(t, err.Error(), "it has no backup pool")
				assert.Contains(t, err.Error(), ev.String()+" on "+pool03)
				assert.Equal(t, before, snap(d))
			})
		}
	}
}

// Issue 9.5: a planned failover (Invoke-CsPoolFailOver without -DisasterMode) needs, like a
// disaster-mode one, a backup that answers and is normal; the running pool stays up.
func TestRulePlannedFailoverNeedsABackupThatIsUpAndNormal(t *testing.T) {
	tests := []struct {
		name  string
		setup []event
		why   string
	}{
		{"backup down", []event{on(pool02, PoolOutage)}, "its backup pool " + pool02 + " is down"},
		{"backup failed over itself", []event{on(pool02, PoolOutage), on(pool02, FailOverStart), on(pool02, FailOverComplete),
			on(pool02, PoolRecovery)}, "its backup pool " + pool02 + " is failed-over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeployment(t)
			apply(t, d, tt.setup...)
			before := snap(d)
			_, err := d.Apply(pool01, PlannedFailOverStart, t0)
			require.ErrorIs(t, err, ErrIllegalTransition)
			assert.Contains(t, err.Error(), tt.why)
			assert.Contains(t, err.Error(), "Invoke-CsPoolFailOver on "+pool01)
			assert.Equal(t, before, snap(d))
		})
	}
	t.Run("backup normal: the pool fails over and keeps answering", func(t *testing.T) {
		d := newDeployment(t)
		tr, err := d.Apply(pool01, PlannedFailOverStart, t0)
		require.NoError(t, err)
		assert.Equal(t, FailingOver, tr.To)
		assert.True(t, tr.Up)
		requireState(t, d, pool01, state{FailingOver, true})
	})
}

// The planned walk: a running pool is failed over by the administrator, completes, and is
// failed back; the seed's table applies from the failover on.
func TestPlannedFailoverWalk(t *testing.T) {
	d := newDeployment(t)
	walk := []struct {
		ev   Event
		want state
	}{
		{PlannedFailOverStart, state{FailingOver, true}},
		{FailOverComplete, state{FailedOver, true}},
		{FailBackStart, state{FailingBack, true}},
		{FailBackComplete, state{Normal, true}},
	}
	for _, w := range walk {
		_, err := d.Apply(pool01, w.ev, t0)
		require.NoError(t, err, "%s", w.ev)
		requireState(t, d, pool01, w.want)
	}
}
