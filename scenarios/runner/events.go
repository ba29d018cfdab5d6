package runner

import (
	"slices"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Event is what a step did to the pools, for the HTML ladder to draw on their lifelines
// at the moment it happened: a pool event (an outage, a recovery), one of the disaster
// recovery steps of the Lync Server 2013 runbook (Invoke-CsPoolFailOver and
// Invoke-CsPoolFailBack, and the completion of each), or another cmdlet of the
// administrator's (Set-CsCallParkOrbit, Set-CsCpsConfiguration, SEFAUtil, Move-CsUser,
// a pool deployed or removed with Topology Builder).
type Event struct {
	// Label is the short name drawn on the lifelines: "outage", "failover started",
	// "Set-CsCallParkOrbit".
	Label string
	// Pools are the pools (FQDNs, the names of their lanes) it concerns: the pool and its
	// backup for a failover or failback, the old and the new Call Park service of an orbit
	// range.
	Pools []string
	// Refused is the error the cmdlet or event failed with, if it failed.
	Refused string
}

// event describes what st is about to do to the pools, or returns nil for a step that
// is not an administrator's or a pool's (calls, registrations, checks, time).
func (r *run) event(st scenario.Step) *Event {
	var ev Event
	switch st.Kind {
	case scenario.Outage:
		ev = Event{Label: "outage", Pools: []string{st.Pool}}
	case scenario.Recover:
		ev = Event{Label: "recovered", Pools: []string{st.Pool}}
	case scenario.FailOver:
		ev = Event{Label: "failover started", Pools: r.withBackup(st.Pool)}
	case scenario.FailOverComplete:
		ev = Event{Label: "failover complete", Pools: r.withBackup(st.Pool)}
	case scenario.FailBack:
		ev = Event{Label: "failback started", Pools: r.withBackup(st.Pool)}
	case scenario.FailBackComplete:
		ev = Event{Label: "failback complete", Pools: r.withBackup(st.Pool)}
	case scenario.NewOrbit:
		ev = Event{Label: "New-CsCallParkOrbit", Pools: []string{st.Orbit.CallParkService}}
	case scenario.SetOrbit:
		ev = Event{Label: "Set-CsCallParkOrbit", Pools: []string{r.orbitOwner(st.Identity)}}
		if c := st.Change.CallParkService; c != nil {
			ev.Pools = append(ev.Pools, *c)
		}
	case scenario.RemoveOrbit:
		ev = Event{Label: "Remove-CsCallParkOrbit", Pools: []string{r.orbitOwner(st.Identity)}}
	case scenario.SetCPS:
		ev = Event{Label: "Set-CsCpsConfiguration", Pools: []string{st.Pool}}
	case scenario.EnablePickup, scenario.DisablePickup:
		ev = Event{Label: "SEFAUtil", Pools: []string{r.homeOf(st.User)}}
	case scenario.AddPool:
		ev = Event{Label: "pool deployed", Pools: []string{st.NewPool.FQDN}}
	case scenario.MoveUsers:
		ev = Event{Label: "Move-CsUser", Pools: []string{st.FromPool, st.ToPool}}
	case scenario.RemovePool:
		ev = Event{Label: "pool removed", Pools: []string{st.Pool}}
	case scenario.PairPools:
		ev = Event{Label: "pools paired", Pools: []string{st.FromPool, st.ToPool}}
	case scenario.ReassignOrbits:
		ev = Event{Label: "Set-CsCallParkOrbit", Pools: []string{st.FromPool, st.ToPool}}
	default:
		return nil
	}
	ev.Pools = distinct(ev.Pools)
	return &ev
}

// done records how the event's step ended: err is the action's error, if any.
func (ev *Event) done(err error) *Event {
	if ev != nil && err != nil {
		ev.Refused = err.Error()
	}
	return ev
}

// withBackup is pool and its backup, the two pools a failover or failback concerns.
func (r *run) withBackup(pool string) []string {
	return []string{pool, r.deployment(func(d *topology.Deployment) string {
		pc, _ := d.PoolConfig(pool)
		return pc.Backup
	})}
}

// orbitOwner is the pool whose Call Park application owns the orbit range identity now.
func (r *run) orbitOwner(identity string) string {
	return r.deployment(func(d *topology.Deployment) string {
		o, _ := d.Orbit(identity)
		return o.CallParkService
	})
}

// homeOf is user's home pool, where SEFAUtil changes the user's settings.
func (r *run) homeOf(user string) string {
	return r.deployment(func(d *topology.Deployment) string {
		u, _ := d.User(user)
		return u.HomePool
	})
}

// deployment reads one name from the deployment as it is now ("" for none).
func (r *run) deployment(read func(d *topology.Deployment) string) string {
	var name string
	r.net.Deployment(func(d *topology.Deployment) { name = read(d) })
	return name
}

// distinct drops empty and repeated names, keeping the order.
func distinct(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
