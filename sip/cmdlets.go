package sip

import (
	"errors"
	"fmt"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// The cmdlets: one implementation of each administrator command, which the admin API
// (cmd/pickupsim/internal/admin), the scenario steps (scenarios/runner) and Go callers all
// call. Each reads pool and user names the same way (ResolvePool, topology.UserName) and
// leaves validation and defaults to the deployment model, so no caller can drift from the
// others. Pool replacement (Topology Builder, Move-CsUser) is in replace.go.

// ErrUnknownPool is returned for an FQDN that is not in the topology.
var ErrUnknownPool = errors.New("no such pool")

// Outage is the simulator's Invoke-PoolOutage: the pool stops answering: its sockets close and everything it held in memory
// (registrations, pickup queues, the Call Park application's calls) is lost.
func (n *Network) Outage(pool string) error { return n.apply(pool, topology.PoolOutage) }

// Recover is the simulator's Invoke-PoolRecovery: the pool answers again on its address,
// with empty memory.
func (n *Network) Recover(pool string) error { return n.apply(pool, topology.PoolRecovery) }

// InvokeFailOver is Invoke-CsPoolFailOver -PoolFqdn pool -DisasterMode: the failover of a
// pool that stopped answering starts.
func (n *Network) InvokeFailOver(pool string) error { return n.apply(pool, topology.FailOverStart) }

// InvokePlannedFailOver is Invoke-CsPoolFailOver -PoolFqdn pool without -DisasterMode: the
// administrator fails over a pool that still answers (maintenance). Its users are signed
// out and move to the backup, in resiliency mode until the failover completes; the pool
// answers their REGISTERs with 301s towards the backup; its Call Park application stops
// (queued calls are lost, parked calls disconnected); calls it bridged stay up.
func (n *Network) InvokePlannedFailOver(pool string) error {
	return n.apply(pool, topology.PlannedFailOverStart)
}

// CompleteFailOver marks the failover of pool as finished.
func (n *Network) CompleteFailOver(pool string) error {
	return n.apply(pool, topology.FailOverComplete)
}

// InvokeFailBack is Invoke-CsPoolFailBack -PoolFqdn pool: the failback process starts.
func (n *Network) InvokeFailBack(pool string) error { return n.apply(pool, topology.FailBackStart) }

// CompleteFailBack marks the failback of pool as finished.
func (n *Network) CompleteFailBack(pool string) error {
	return n.apply(pool, topology.FailBackComplete)
}

// apply runs a disaster-recovery event through the model and carries out its decisions.
func (n *Network) apply(pool string, ev topology.Event) error {
	defer n.lampsMayChange() // seam_lamps.go
	pool = n.ResolvePool(pool)
	p, ok := n.Pool(pool)
	if !ok {
		return fmt.Errorf("%s on %q: %w", ev, pool, ErrUnknownPool)
	}
	n.mu.Lock()
	tr, err := n.deploy.Apply(pool, ev, n.clock.Now())
	n.mu.Unlock()
	if err != nil {
		return err
	}
	n.log.Info("disaster recovery", "pool", pool, "event", ev.String(), "from", tr.From.String(), "to", tr.To.String(), "up", tr.Up, "redirected", tr.Redirected)
	switch ev {
	case topology.PoolOutage:
		p.stop()
	case topology.PoolRecovery:
		if err := p.start(); err != nil {
			return fmt.Errorf("%s on %s: %w", ev, pool, err)
		}
	}
	for _, so := range tr.SignOut {
		if sp, ok := n.Pool(so.Pool); ok {
			sp.signOut(so.Users)
		}
	}
	if tr.StopCallPark {
		p.stopCallPark()
	}
	if !tr.Lost.Empty() {
		// Wherever a group's queue is held (SPEC section 3: the owner of its range).
		for _, op := range n.allPools() {
			op.dropLost(tr.Lost)
		}
	}
	n.emit(Change{Kind: ChangePhase, Pool: pool, Detail: fmt.Sprintf("%s: %s -> %s", ev, tr.From, tr.To)})
	return nil
}

// NewCallParkOrbit is New-CsCallParkOrbit. The range is kept with its type CallPark unless
// given, and its CallParkService the pool's FQDN (CallParkOrbit shows it).
func (n *Network) NewCallParkOrbit(r park.OrbitRange) error {
	defer n.lampsMayChange() // seam_lamps.go
	n.mu.Lock()
	defer n.mu.Unlock()
	r.CallParkService = n.resolvePoolLocked(r.CallParkService)
	return n.deploy.NewOrbit(r)
}

// CallParkOrbit is Get-CsCallParkOrbit -Identity (ignoring case).
func (n *Network) CallParkOrbit(identity string) (park.OrbitRange, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.Orbit(identity)
}

// SetCallParkOrbit is Set-CsCallParkOrbit: what the change names is set, an empty change
// is refused.
func (n *Network) SetCallParkOrbit(identity string, c park.OrbitChange) error {
	defer n.lampsMayChange() // seam_lamps.go
	n.mu.Lock()
	defer n.mu.Unlock()
	if c.CallParkService != nil {
		pool := n.resolvePoolLocked(*c.CallParkService)
		c.CallParkService = &pool
	}
	return n.deploy.SetOrbit(identity, c)
}

// RedirectCallParkOrbit is the runbook step Set-CsCallParkOrbit -Identity id -CallParkService pool.
func (n *Network) RedirectCallParkOrbit(identity, pool string) error {
	return n.SetCallParkOrbit(identity, park.OrbitChange{CallParkService: &pool})
}

// RemoveCallParkOrbit is Remove-CsCallParkOrbit.
func (n *Network) RemoveCallParkOrbit(identity string) error {
	defer n.lampsMayChange() // seam_lamps.go
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.RemoveOrbit(identity)
}

// CallParkOrbits is Get-CsCallParkOrbit: every range, sorted by identity.
func (n *Network) CallParkOrbits() []park.OrbitRange {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.Orbits()
}

// EnableGroupPickup is SEFAUtil /enablegrouppickup:<number>.
func (n *Network) EnableGroupPickup(user, number string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.EnableGroupPickup(user, number)
}

// DisableGroupPickup is SEFAUtil /disablegrouppickup.
func (n *Network) DisableGroupPickup(user string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.DisableGroupPickup(user)
}

// SetCpsConfiguration is Set-CsCpsConfiguration for one pool: the parameters the change
// names are set, the others keep their values (park.AllOf sets them all). It returns the
// settings now in force.
func (n *Network) SetCpsConfiguration(pool string, ch park.CPSChange) (park.CPSConfig, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.SetCPS(n.resolvePoolLocked(pool), ch)
}

// CpsConfiguration is Get-CsCpsConfiguration for one pool.
func (n *Network) CpsConfiguration(pool string) (park.CPSConfig, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.CPS(n.resolvePoolLocked(pool))
}

// GroupPickupUserOrbit is Get-CsGroupPickupUserOrbit: the user's Group Call Pickup number
// ("" when none); the user as the cmdlets take one (topology.UserName).
func (n *Network) GroupPickupUserOrbit(user string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	user = topology.UserName(user)
	if _, ok := n.deploy.User(user); !ok {
		return "", fmt.Errorf("no user named %q in the topology", user)
	}
	number, _ := n.deploy.PickupNumber(user)
	return number, nil
}

// ResolvePool returns the FQDN of the pool an administrator's name means (any case, a
// service ID or identity, or the FQDN's first label: topology.ResolvePool), or the name as
// given when it means none. Every cmdlet method reads its pool names through it.
func (n *Network) ResolvePool(name string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.resolvePoolLocked(name)
}

func (n *Network) resolvePoolLocked(name string) string { return n.deploy.ResolvePool(name) }
