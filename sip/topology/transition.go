package topology

import (
	"fmt"
	"slices"
	"time"

	"github.com/pickupsim/pickupsim/park"
)

// Transition is what an event did to the deployment, for package sip to carry out.
type Transition struct {
	Pool     string
	Event    Event
	From, To Phase
	Up       bool
	// SignOut lists registrations a pool must forget, with the calls they had queued for
	// Group Call Pickup (failback signs the users out of the backup pool; a recovery before
	// failover sends them home).
	SignOut []SignOut
	// Redirected lists the orbit ranges the simulator reassigned itself (AutoRedirectOrbits).
	Redirected []string
	// Lost says which queued Group Call Pickup calls can never be picked up now, on every
	// pool's Call Park application: the queue of a group is held by the pool that owns its
	// range, which may not be the pool the event hit (SPEC section 3).
	Lost LostCalls
	// StopCallPark: the pool's Call Park application stops serving (a planned failover):
	// its queues are emptied and the calls parked on it are disconnected, as the Call Park
	// experience table has "no calls in this state" during failover.
	StopCallPark bool
}

// LostCalls names queued pickup calls that a transition makes unanswerable through Group
// Call Pickup, wherever they are queued.
type LostCalls struct {
	// Callees: calls ringing these users (seed: "Calls in queue cannot be answered through
	// Group Call Pickup" when failover or failback starts).
	Callees []string
	// HeldBy: calls whose callers' transactions these pools held, reported to another
	// pool's queue. A pool that stops answering takes them with it: nobody is left to
	// answer the caller.
	HeldBy []string
}

// Empty reports whether nothing is lost.
func (l LostCalls) Empty() bool { return len(l.Callees) == 0 && len(l.HeldBy) == 0 }

// SignOut tells Pool to drop the registrations and queued pickup calls of Users.
type SignOut struct {
	Pool  string
	Users []string
}

// Apply runs ev on pool at now. An illegal event returns an error wrapping
// ErrIllegalTransition and changes nothing.
func (d *Deployment) Apply(pool string, ev Event, now time.Time) (Transition, error) {
	st, ok := d.pools[pool]
	if !ok {
		return Transition{}, unknownPool(pool)
	}
	if ev == FailOverStart || ev == PlannedFailOverStart {
		// Whatever the pool's state, a pool with no backup cannot be failed over, and that
		// is the first thing the administrator needs to hear.
		if b, _ := d.backupOf(pool); b == "" {
			return Transition{}, noBackup(pool, ev)
		}
	}
	row, ok := transitions[st.phase][ev]
	if !ok || (row.needUp != nil && *row.needUp != st.up) {
		return Transition{}, explainIllegal(pool, *st, ev)
	}
	if row.needPair {
		if err := d.checkBackupReady(pool, ev); err != nil {
			return Transition{}, err
		}
	}
	tr := Transition{Pool: pool, Event: ev, From: st.phase, To: row.to}
	if ev == FailOverComplete || ev == FailBackComplete {
		ids, err := d.autoRedirect(pool, ev)
		if err != nil {
			return Transition{}, err
		}
		tr.Redirected = ids
	}
	st.phase = row.to
	if row.setUp != nil {
		st.up = *row.setUp
		if !st.up {
			st.downSince = now
		}
	}
	tr.Up = st.up
	backup, _ := d.backupOf(pool)
	switch {
	case ev == FailBackStart && backup != "":
		tr.SignOut = []SignOut{{Pool: backup, Users: d.UsersOf(pool)}}
		tr.Lost.Callees = d.UsersOf(pool)
	case ev == PoolRecovery && tr.To == Normal && backup != "":
		tr.SignOut = []SignOut{{Pool: backup, Users: d.UsersOf(pool)}}
	case ev == PoolOutage:
		tr.SignOut = []SignOut{{Pool: pool, Users: d.Users()}}
		tr.Lost.HeldBy = []string{pool}
	case ev == FailOverStart:
		tr.Lost.Callees = d.UsersOf(pool)
	case ev == PlannedFailOverStart:
		// The pool stops serving its users: they sign out and sign in to the backup, in
		// resiliency mode until the failover completes (Lync: "If a pool is failed over, all
		// users of the affected pool are forced to sign out and then sign into the backup
		// pool").
		tr.SignOut = []SignOut{{Pool: pool, Users: d.UsersOf(pool)}}
		tr.Lost.Callees = d.UsersOf(pool)
		tr.StopCallPark = true
	}
	return tr, nil
}

func noBackup(pool string, ev Event) error {
	return fmt.Errorf("%s on %s: %w: it has no backup pool (pair it with Topology Builder first)", ev, pool, ErrIllegalTransition)
}

func (d *Deployment) checkBackupReady(pool string, ev Event) error {
	b, bst := d.backupOf(pool)
	switch {
	case b == "":
		return noBackup(pool, ev)
	case !bst.up:
		return fmt.Errorf("%s on %s: %w: its backup pool %s is down", ev, pool, ErrIllegalTransition, b)
	case bst.phase != Normal:
		return fmt.Errorf("%s on %s: %w: its backup pool %s is %s", ev, pool, ErrIllegalTransition, b, bst.phase)
	}
	return nil
}

// autoRedirect reassigns GroupPickup ranges when AutoRedirectOrbits is on: the pool's own
// ranges to its backup when failover completes, and back when failback completes.
func (d *Deployment) autoRedirect(pool string, ev Event) ([]string, error) {
	if !d.topo.AutoRedirectOrbits {
		return nil, nil
	}
	backup, _ := d.backupOf(pool)
	if backup == "" {
		return nil, nil
	}
	if ev == FailOverComplete {
		ids, err := d.orbits.Reassign(pool, backup, park.GroupPickup)
		if err != nil {
			return nil, fmt.Errorf("redirecting orbit ranges of %s to %s: %w", pool, backup, err)
		}
		// Append, not replace: after an outage during failback the ranges moved by the first
		// failover are still on the backup, and failback completion must bring them back too.
		for _, id := range ids {
			d.noteMove(id, park.GroupPickup, pool, backup)
			if !slices.Contains(d.redirected[pool], id) {
				d.redirected[pool] = append(d.redirected[pool], id)
			}
		}
		return ids, nil
	}
	var moved []string
	next := d.orbits.Clone()
	home := pool
	for _, id := range d.redirected[pool] {
		r, ok := next.Get(id)
		if !ok || r.CallParkService != backup {
			continue // the administrator changed it meanwhile: leave it alone
		}
		if err := next.Set(id, park.OrbitChange{CallParkService: &home}); err != nil {
			return nil, fmt.Errorf("redirecting orbit range %s back to %s: %w", id, pool, err)
		}
		moved = append(moved, id)
	}
	for _, id := range moved {
		d.noteMove(id, park.GroupPickup, backup, pool)
	}
	d.orbits = next
	delete(d.redirected, pool)
	return moved, nil
}
