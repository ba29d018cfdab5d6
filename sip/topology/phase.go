package topology

import (
	"errors"
	"fmt"
	"time"
)

// Phase is where a pool stands in disaster recovery (SPEC section 5).
type Phase int

// The phases, in the order a disaster walks through them.
const (
	// Normal: the pool serves its own users.
	Normal Phase = iota
	// Outage: the pool stopped answering and has not been failed over. Its users are signed
	// out, then (after the registrar failover timer) on the backup registrar in resiliency mode.
	Outage
	// FailingOver: the administrator ran Invoke-CsPoolFailOver; users are on the backup in
	// resiliency mode.
	FailingOver
	// FailedOver: failover completed; the backup serves the users out of resiliency mode.
	FailedOver
	// FailingBack: the administrator ran Invoke-CsPoolFailBack; users are signed out of the
	// backup and back on their home pool in resiliency mode.
	FailingBack
)

var phaseNames = [...]string{"normal", "outage", "failing-over", "failed-over", "failing-back"}

// String returns the phase's name as scenario files and reports spell it.
func (p Phase) String() string {
	if p < 0 || int(p) >= len(phaseNames) {
		return fmt.Sprintf("phase(%d)", int(p))
	}
	return phaseNames[p]
}

// ParsePhase reads a phase name.
func ParsePhase(s string) (Phase, error) {
	for i, n := range phaseNames {
		if n == s {
			return Phase(i), nil
		}
	}
	return 0, fmt.Errorf("unknown phase %q (want one of normal, outage, failing-over, failed-over, failing-back)", s)
}

// Event is something that happens to a pool: a failure, a recovery, or an administrator's
// disaster-recovery cmdlet.
type Event int

// The events.
const (
	// PoolOutage: the pool stops answering (unplanned).
	PoolOutage Event = iota
	// PoolRecovery: the pool answers again.
	PoolRecovery
	// FailOverStart: Invoke-CsPoolFailOver -PoolFqdn <pool> -DisasterMode, the failover of a
	// pool that stopped answering.
	FailOverStart
	// FailOverComplete: the failover finished.
	FailOverComplete
	// FailBackStart: Invoke-CsPoolFailBack -PoolFqdn <pool>.
	FailBackStart
	// FailBackComplete: the failback finished.
	FailBackComplete
	// PlannedFailOverStart: Invoke-CsPoolFailOver -PoolFqdn <pool> without -DisasterMode:
	// the administrator fails over a pool that is "still up and running ... for example ...
	// to do hardware or software upgrades" (office-docs-powershell Invoke-CsPoolFailOver.md,
	// -DisasterMode). The pool stops serving its users, who move to the backup; it keeps
	// answering, with 301s towards the backup.
	PlannedFailOverStart
)

var eventNames = [...]string{"pool outage", "pool recovery", "Invoke-CsPoolFailOver -DisasterMode", "failover completion",
	"Invoke-CsPoolFailBack", "failback completion", "Invoke-CsPoolFailOver"}

// String names the event as an administrator knows it.
func (e Event) String() string {
	if e < 0 || int(e) >= len(eventNames) {
		return fmt.Sprintf("event(%d)", int(e))
	}
	return eventNames[e]
}

// ErrIllegalTransition is returned for an event the pool's phase does not allow; the
// deployment is left unchanged.
var ErrIllegalTransition = errors.New("not allowed now")

// poolState is the dynamic state of one pool.
type poolState struct {
	phase Phase
	up    bool
	// downSince is when the pool stopped answering; the backup registrar's failover timer
	// runs from there.
	downSince time.Time
}

// step is one row of the transition table: from a phase, on an event, to a phase, with
// the pool's up state required before and set after.
type step struct {
	to       Phase
	needUp   *bool // nil: either
	setUp    *bool // nil: unchanged
	needPair bool  // the backup must exist and be up and normal
}

var (
	yes = func() *bool { b := true; return &b }()
	no  = func() *bool { b := false; return &b }()
)

// transitions is the disaster-recovery state machine. Anything not listed is illegal.
// Choices (documented in the README): Invoke-CsPoolFailOver -DisasterMode is for a pool
// that stopped answering, and without -DisasterMode for a pool that still answers (Lync:
// "If a pool is no longer accessible the only way to restore full functionality ... is to
// fail over the pool by using the DisasterMode parameter"); both lead to the same phases;
// a pool that comes back during or after failover stays failed over until
// Invoke-CsPoolFailBack; an outage during failback puts the pool back in Outage, its users
// waiting for the backup registrar again.
var transitions = map[Phase]map[Event]step{
	Normal: {
		PoolOutage:           {to: Outage, needUp: yes, setUp: no},
		PlannedFailOverStart: {to: FailingOver, needUp: yes, needPair: true},
	},
	Outage: {
		PoolRecovery:  {to: Normal, needUp: no, setUp: yes},
		FailOverStart: {to: FailingOver, needUp: no, needPair: true},
	},
	FailingOver: {
		FailOverComplete: {to: FailedOver},
		PoolRecovery:     {to: FailingOver, needUp: no, setUp: yes},
		PoolOutage:       {to: FailingOver, needUp: yes, setUp: no},
	},
	FailedOver: {
		FailBackStart: {to: FailingBack, needUp: yes},
		PoolRecovery:  {to: FailedOver, needUp: no, setUp: yes},
		PoolOutage:    {to: FailedOver, needUp: yes, setUp: no},
	},
	FailingBack: {
		FailBackComplete: {to: Normal},
		PoolOutage:       {to: Outage, needUp: yes, setUp: no},
	},
}

// explainIllegal says why ev cannot happen to a pool in st, in an administrator's words.
func explainIllegal(pool string, st poolState, ev Event) error {
	var why string
	switch {
	case ev == PoolOutage && !st.up:
		why = "it is already down"
	case ev == PoolRecovery && st.up:
		why = "it is already up"
	case (ev == FailOverStart || ev == PlannedFailOverStart) && st.phase == FailingOver:
		why = "a failover is already in progress"
	case ev == PlannedFailOverStart && st.phase == FailedOver:
		why = "it is already failed over"
	case ev == PlannedFailOverStart && !st.up:
		why = "it is not answering: a pool that is down is failed over with -DisasterMode"
	case ev == PlannedFailOverStart:
		why = fmt.Sprintf("its phase is %s, and a planned failover starts from normal operation", st.phase)
	case ev == FailBackStart && st.phase == FailingBack:
		why = "a failback is already in progress"
	case ev == FailOverStart && st.up && st.phase == Normal:
		why = "it is up and serving its users: -DisasterMode is for a pool that stopped answering; run Invoke-CsPoolFailOver without -DisasterMode for a planned failover"
	case ev == FailOverStart:
		why = fmt.Sprintf("its phase is %s, and failover starts from an outage", st.phase)
	case ev == FailOverComplete:
		why = fmt.Sprintf("its phase is %s, and only a failover in progress can complete", st.phase)
	case ev == FailBackStart && st.phase == FailedOver && !st.up:
		why = "it is still down; failback needs the pool answering again"
	case ev == FailBackStart:
		why = fmt.Sprintf("its phase is %s, and failback needs a completed failover", st.phase)
	case ev == FailBackComplete:
		why = fmt.Sprintf("its phase is %s, and only a failback in progress can complete", st.phase)
	default:
		why = fmt.Sprintf("its phase is %s", st.phase)
	}
	return fmt.Errorf("%s on %s: %w: %s", ev, pool, ErrIllegalTransition, why)
}
