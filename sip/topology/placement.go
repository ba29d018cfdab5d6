package topology

import (
	"fmt"
	"time"
)

// Mode is how a user is served.
type Mode int

// The modes.
const (
	// Offline: no registrar accepts the user right now.
	Offline Mode = iota
	// NormalMode: served with every feature (home pool, or backup after failover completed).
	NormalMode
	// Resiliency: registered on a pool that does not own the user's data yet (backup before
	// failover completes, home during failback): no Group Call Pickup, no Call Park.
	Resiliency
)

var modeNames = [...]string{"offline", "normal", "resiliency"}

// String names the mode as scenario files and reports spell it.
func (m Mode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return fmt.Sprintf("mode(%d)", int(m))
	}
	return modeNames[m]
}

// ParseMode reads a mode name.
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if n == s {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown mode %q (want offline, normal or resiliency)", s)
}

// Placement says which pool serves a user now and how.
type Placement struct {
	Pool string // empty when Offline
	Mode Mode
	// RetryAfter is, while Offline during an outage, how long until the backup registrar's
	// failover timer runs out.
	RetryAfter time.Duration
	Why        string
}

// Place returns where user is served at now (SPEC section 5's table, row by row).
func (d *Deployment) Place(user string, now time.Time) (Placement, error) {
	u, ok := d.users[user]
	if !ok {
		return Placement{}, fmt.Errorf("no user named %q in the topology", user)
	}
	home := d.pools[u.HomePool]
	backup, b := d.backupOf(u.HomePool)
	backupUp := b != nil && b.up
	offline := func(why string) (Placement, error) { return Placement{Mode: Offline, Why: why}, nil }
	switch home.phase {
	case Normal:
		return Placement{Pool: u.HomePool, Mode: NormalMode}, nil
	case Outage:
		if !backupUp {
			return offline(fmt.Sprintf("home pool %s is down and has no backup registrar answering", u.HomePool))
		}
		ready := home.downSince.Add(d.topo.RegistrarFailoverTimer)
		if now.Before(ready) {
			return Placement{Mode: Offline, RetryAfter: ready.Sub(now),
				Why: fmt.Sprintf("home pool %s is down; backup registrar %s takes its users once the registrar failover timer (%s) runs out, in %s",
					u.HomePool, backup, d.topo.RegistrarFailoverTimer, ready.Sub(now))}, nil
		}
		return Placement{Pool: backup, Mode: Resiliency, Why: fmt.Sprintf("home pool %s is down", u.HomePool)}, nil
	case FailingOver:
		if !backupUp {
			return offline(fmt.Sprintf("backup pool %s is down", backup))
		}
		return Placement{Pool: backup, Mode: Resiliency, Why: fmt.Sprintf("%s is failing over to %s", u.HomePool, backup)}, nil
	case FailedOver:
		if !backupUp {
			return offline(fmt.Sprintf("backup pool %s is down", backup))
		}
		return Placement{Pool: backup, Mode: NormalMode, Why: fmt.Sprintf("%s is failed over to %s", u.HomePool, backup)}, nil
	default: // FailingBack
		return Placement{Pool: u.HomePool, Mode: Resiliency, Why: fmt.Sprintf("%s is failing back from %s", u.HomePool, backup)}, nil
	}
}

// RegisterDecision is a registrar's answer to REGISTER.
type RegisterDecision struct {
	Accept bool
	Mode   Mode
	// Redirect names the pool that serves the user, for a 301 Moved Permanently.
	Redirect string
	Reject   *Rejection
}

// Register decides what pool answers user's REGISTER at now.
func (d *Deployment) Register(pool, user string, now time.Time) RegisterDecision {
	pl, err := d.Place(user, now)
	if err != nil {
		return RegisterDecision{Reject: NotAUser(user, d.topo.Domain)}
	}
	switch {
	case pl.Pool == pool:
		return RegisterDecision{Accept: true, Mode: pl.Mode}
	case pl.Pool != "":
		return RegisterDecision{Redirect: pl.Pool, Reject: ServedElsewhere(user, pl.Pool, pl.Why)}
	default:
		return RegisterDecision{Reject: NoRegistrar(pl.Why, pl.RetryAfter)}
	}
}
