package topology

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SPEC section 5's table, column "user of P is", for alice (homed on pool01), one row per
// phase, read some time after the events that led there (all at t0).
func TestPlaceUserOfPInEveryPhase(t *testing.T) {
	tests := []struct {
		name string
		of   state
		now  time.Time
		want Placement // Why is checked separately
		why  string
	}{
		{"normal: registered on P", state{Normal, true}, at(time.Hour), Placement{Pool: pool01, Mode: NormalMode}, ""},
		{"outage: signed out until the registrar failover timer runs out", state{Outage, false}, at(10 * time.Second),
			Placement{Mode: Offline, RetryAfter: 290 * time.Second}, "registrar failover timer"},
		{"outage: then on B's backup registrar in resiliency mode", state{Outage, false}, at(time.Hour),
			Placement{Pool: pool02, Mode: Resiliency}, "home pool " + pool01 + " is down"},
		{"failing over: resiliency mode on B", state{FailingOver, false}, at(time.Second),
			Placement{Pool: pool02, Mode: Resiliency}, pool01 + " is failing over to " + pool02},
		{"failing over, P up again: still resiliency mode on B", state{FailingOver, true}, at(time.Second),
			Placement{Pool: pool02, Mode: Resiliency}, "failing over"},
		{"failed over: served by B, out of resiliency", state{FailedOver, false}, at(time.Second),
			Placement{Pool: pool02, Mode: NormalMode}, pool01 + " is failed over to " + pool02},
		{"failed over, P up again: still served by B", state{FailedOver, true}, at(time.Second),
			Placement{Pool: pool02, Mode: NormalMode}, "failed over"},
		{"failing back: back into P in resiliency mode", state{FailingBack, true}, at(time.Second),
			Placement{Pool: pool01, Mode: Resiliency}, pool01 + " is failing back from " + pool02},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeployment(t)
			drive(t, d, pool01, tt.of)
			got, err := d.Place("alice", tt.now)
			require.NoError(t, err)
			assert.Contains(t, got.Why, tt.why)
			got.Why = ""
			assert.Equal(t, tt.want, got)

			// A user of the backup pool is not affected by P's phase.
			dave, err := d.Place("dave", tt.now)
			require.NoError(t, err)
			assert.Equal(t, Placement{Pool: pool02, Mode: NormalMode}, dave)
		})
	}
}

// Rule (SPEC section 5): after an outage, P's users reach B's backup registrar only once the
// registrar failover timer (300 s by default) has run out; until then they are offline and
// told when to retry.
func TestRuleRegistrarFailoverTimerBoundary(t *testing.T) {
	tests := []struct {
		name  string
		timer time.Duration // 0: the default
		after time.Duration
		want  Placement
	}{
		{"default, at the outage", 0, 0, Placement{Mode: Offline, RetryAfter: 300 * time.Second}},
		{"default, 1 s", 0, time.Second, Placement{Mode: Offline, RetryAfter: 299 * time.Second}},
		{"default, 299 s", 0, 299 * time.Second, Placement{Mode: Offline, RetryAfter: time.Second}},
		{"default, 299.999 s", 0, 300*time.Second - time.Millisecond, Placement{Mode: Offline, RetryAfter: time.Millisecond}},
		{"default, 300 s", 0, 300 * time.Second, Placement{Pool: pool02, Mode: Resiliency}},
		{"default, 301 s", 0, 301 * time.Second, Placement{Pool: pool02, Mode: Resiliency}},
		{"custom 30 s, 29 s", 30 * time.Second, 29 * time.Second, Placement{Mode: Offline, RetryAfter: time.Second}},
		{"custom 30 s, 30 s", 30 * time.Second, 30 * time.Second, Placement{Pool: pool02, Mode: Resiliency}},
		{"custom 30 s, 299 s", 30 * time.Second, 299 * time.Second, Placement{Pool: pool02, Mode: Resiliency}},
		{"custom 10 min, 300 s", 10 * time.Minute, 300 * time.Second, Placement{Mode: Offline, RetryAfter: 300 * time.Second}},
		{"custom 10 min, 600 s", 10 * time.Minute, 600 * time.Second, Placement{Pool: pool02, Mode: Resiliency}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeployment(t, func(topo *Topology) { topo.RegistrarFailoverTimer = tt.timer })
			down := at(time.Hour)
			apply(t, d, event{pool01, PoolOutage, down})

			got, err := d.Place("alice", down.Add(tt.after))
			require.NoError(t, err)
			if tt.want.Mode == Offline {
				timer := tt.timer
				if timer == 0 {
					timer = DefaultRegistrarFailoverTimer
				}
				assert.Contains(t, got.Why, fmt.Sprintf("registrar failover timer (%s)", timer))
				assert.Contains(t, got.Why, pool02)
			}
			got.Why = ""
			assert.Equal(t, tt.want, got)
		})
	}
}

// The registrar failover timer runs from the latest outage: a second outage restarts it,
// and so does an outage during failback.
func TestRuleRegistrarFailoverTimerRunsFromTheLatestOutage(t *testing.T) {
	t.Run("outage, recovery, outage", func(t *testing.T) {
		d := newDeployment(t)
		apply(t, d, event{pool01, PoolOutage, t0}, event{pool01, PoolRecovery, at(time.Hour)},
			event{pool01, PoolOutage, at(2 * time.Hour)})
		got, err := d.Place("alice", at(2*time.Hour+100*time.Second))
		require.NoError(t, err)
		assert.Equal(t, Offline, got.Mode)
		assert.Equal(t, 200*time.Second, got.RetryAfter)
	})
	t.Run("outage during failback", func(t *testing.T) {
		d := newDeployment(t)
		drive(t, d, pool01, state{FailingBack, true})
		apply(t, d, event{pool01, PoolOutage, at(time.Hour)})
		got, err := d.Place("alice", at(time.Hour+time.Minute))
		require.NoError(t, err)
		assert.Equal(t, Offline, got.Mode)
		assert.Equal(t, 240*time.Second, got.RetryAfter)
		got, err = d.Place("alice", at(time.Hour+5*time.Minute))
		require.NoError(t, err)
		assert.Equal(t, Placement{Pool: pool02, Mode: Resiliency}, Placement{Pool: got.Pool, Mode: got.Mode})
	})
}

// With no backup registrar answering, users of a pool that is out have no service at all,
// and no point in retrying at a given time.
func TestPlaceWithNoBackupAnswering(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Topology)
		setup  []event
		pool   string
		user   string
		why    string
	}{
		{
			name:  "outage, backup down too",
			setup: []event{on(pool02, PoolOutage), on(pool01, PoolOutage)},
			user:  "alice",
			why:   "home pool " + pool01 + " is down and has no backup registrar answering",
		},
		{
			name: "outage, no backup pool",
			mutate: func(t *Topology) {
				t.Pools = append(t.Pools, Pool{FQDN: pool03})
				t.Users = append(t.Users, User{Name: "frank", HomePool: pool03})
			},
			setup: []event{on(pool03, PoolOutage)},
			user:  "frank",
			why:   "home pool " + pool03 + " is down and has no backup registrar answering",
		},
		{
			name:  "failing over, backup went down",
			setup: []event{on(pool01, PoolOutage), on(pool01, FailOverStart), on(pool02, PoolOutage)},
			user:  "alice",
			why:   "backup pool " + pool02 + " is down",
		},
		{
			name:  "failed over, backup went down",
			setup: []event{on(pool01, PoolOutage), on(pool01, FailOverStart), on(pool01, FailOverComplete), on(pool02, PoolOutage)},
			user:  "alice",
			why:   "backup pool " + pool02 + " is down",
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
			got, err := d.Place(tt.user, at(time.Hour))
			require.NoError(t, err)
			assert.Equal(t, Placement{Mode: Offline, Why: tt.why}, got)
		})
	}
}

// When P recovers before failover, its users go home, out of resiliency.
func TestPlaceAfterRecoveryBeforeFailover(t *testing.T) {
	d := newDeployment(t)
	apply(t, d, on(pool01, PoolOutage), event{pool01, PoolRecovery, at(time.Hour)})
	got, err := d.Place("alice", at(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, Placement{Pool: pool01, Mode: NormalMode}, got)
}

func TestPlaceUnknownUser(t *testing.T) {
	d := newDeployment(t)
	_, err := d.Place("mallory", t0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"mallory"`)
}

// Rule (SPEC section 5): a phone learns its mode from the registrar. The pool that serves
// the user accepts its REGISTER in that mode; another pool redirects it (301) to the serving
// pool; with no pool serving it, 503 with Retry-After while the registrar failover timer
// runs; an unknown user gets 404.
func TestRuleRegisterDecisions(t *testing.T) {
	tests := []struct {
		name     string
		of       state
		now      time.Time
		pool     string
		user     string
		want     RegisterDecision // Reject.Warning checked separately
		contains string
	}{
		{"normal, home pool accepts", state{Normal, true}, t0, pool01, "alice",
			RegisterDecision{Accept: true, Mode: NormalMode}, ""},
		{"normal, other pool redirects home", state{Normal, true}, t0, pool02, "alice",
			RegisterDecision{Redirect: pool01, Reject: &Rejection{Code: 301, Reason: "Moved Permanently"}}, "alice is served by " + pool01 + " now (home pool)"},
		{"outage, backup registrar before the timer: 503 Retry-After", state{Outage, false}, at(100 * time.Second), pool02, "alice",
			RegisterDecision{Reject: &Rejection{Code: 503, Reason: "Service Unavailable", RetryAfter: 200 * time.Second}}, "registrar failover timer"},
		{"outage, backup registrar at 299 s", state{Outage, false}, at(299 * time.Second), pool02, "alice",
			RegisterDecision{Reject: &Rejection{Code: 503, Reason: "Service Unavailable", RetryAfter: time.Second}}, "in 1s"},
		{"outage, backup registrar at 300 s: resiliency", state{Outage, false}, at(300 * time.Second), pool02, "alice",
			RegisterDecision{Accept: true, Mode: Resiliency}, ""},
		{"failing over, backup accepts in resiliency", state{FailingOver, true}, t0, pool02, "alice",
			RegisterDecision{Accept: true, Mode: Resiliency}, ""},
		{"failing over, P up again redirects to the backup", state{FailingOver, true}, t0, pool01, "alice",
			RegisterDecision{Redirect: pool02, Reject: &Rejection{Code: 301, Reason: "Moved Permanently"}}, "is failing over to"},
		{"failed over, backup accepts out of resiliency", state{FailedOver, false}, t0, pool02, "alice",
			RegisterDecision{Accept: true, Mode: NormalMode}, ""},
		{"failed over, P up again redirects to the backup", state{FailedOver, true}, t0, pool01, "alice",
			RegisterDecision{Redirect: pool02, Reject: &Rejection{Code: 301, Reason: "Moved Permanently"}}, "alice is served by " + pool02},
		{"failing back, home accepts in resiliency", state{FailingBack, true}, t0, pool01, "alice",
			RegisterDecision{Accept: true, Mode: Resiliency}, ""},
		{"failing back, backup redirects home", state{FailingBack, true}, t0, pool02, "alice",
			RegisterDecision{Redirect: pool01, Reject: &Rejection{Code: 301, Reason: "Moved Permanently"}}, "is failing back from"},
		{"backup pool's own user, any phase of P", state{FailingOver, false}, t0, pool02, "dave",
			RegisterDecision{Accept: true, Mode: NormalMode}, ""},
		{"unknown user", state{Normal, true}, t0, pool01, "mallory",
			RegisterDecision{Reject: &Rejection{Code: 404, Reason: "Not Found"}}, "mallory is not a user of domain contoso.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeployment(t)
			drive(t, d, pool01, tt.of)
			got := d.Register(tt.pool, tt.user, tt.now)
			if got.Reject != nil {
				assert.Contains(t, got.Reject.Warning, tt.contains)
				got.Reject.Warning = ""
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// With no backup registrar at all, the 503 carries no Retry-After: waiting will not help.
func TestRegisterWithNoBackupAnswering(t *testing.T) {
	d := newDeployment(t)
	apply(t, d, on(pool02, PoolOutage), on(pool01, PoolOutage))
	got := d.Register(pool02, "alice", at(time.Hour))
	require.NotNil(t, got.Reject)
	assert.False(t, got.Accept)
	assert.Equal(t, 503, got.Reject.Code)
	assert.Zero(t, got.Reject.RetryAfter)
	assert.Contains(t, got.Reject.Warning, "no backup registrar answering")
}

func TestParseModeRoundTrip(t *testing.T) {
	for _, m := range []Mode{Offline, NormalMode, Resiliency} {
		got, err := ParseMode(m.String())
		require.NoError(t, err, m.String())
		assert.Equal(t, m, got)
	}
	assert.Equal(t, []string{"offline", "normal", "resiliency"}, []string{Offline.String(), NormalMode.String(), Resiliency.String()})
	for _, s := range []string{"", "Normal", "resilient", "mode(3)"} {
		_, err := ParseMode(s)
		require.Error(t, err, "%q", s)
		assert.Contains(t, err.Error(), fmt.Sprintf("%q", s))
	}
	assert.Equal(t, "mode(-1)", Mode(-1).String())
	assert.Equal(t, "mode(3)", Mode(3).String())
}
