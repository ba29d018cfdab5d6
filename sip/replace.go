package sip

import (
	"fmt"

	"github.com/pickupsim/pickupsim/sip/topology"
)

// AddPool deploys a new pool (Topology Builder) and starts its SIP server. Its Call Park
// application starts with default settings: after replacing a pool they must be set again.
func (n *Network) AddPool(p topology.Pool) error {
	defer n.lampsMayChange() // seam_lamps.go
	n.mu.Lock()
	err := n.deploy.AddPool(p)
	n.mu.Unlock()
	if err != nil {
		return err
	}
	pool := n.newPool(p.FQDN, n.poolAddr(p.Address))
	if err := pool.start(); err != nil {
		return fmt.Errorf("starting pool %s: %w", p.FQDN, err)
	}
	n.poolsMu.Lock()
	n.pools[p.FQDN] = pool
	n.poolsMu.Unlock()
	return nil
}

// RemovePool takes a failed pool out of the topology (it must be down, its users moved).
// Orbit ranges still pointing at it are reported by Warnings until reassigned.
func (n *Network) RemovePool(fqdn string) error {
	defer n.lampsMayChange() // seam_lamps.go
	n.mu.Lock()
	fqdn = n.resolvePoolLocked(fqdn)
	err := n.deploy.RemovePool(fqdn)
	n.mu.Unlock()
	if err != nil {
		return err
	}
	n.poolsMu.Lock()
	p := n.pools[fqdn]
	delete(n.pools, fqdn)
	n.poolsMu.Unlock()
	if p != nil {
		p.stop()
		n.byAddr.Delete(p.Addr())
	}
	for _, w := range n.Warnings() {
		n.log.Warn("topology", "warning", string(w))
	}
	return nil
}

// MoveUsers is Move-CsUser -Force for every user homed on from; their phones learn their
// new registrars (as clients do from DNS and in-band provisioning).
func (n *Network) MoveUsers(from, to string) ([]string, error) {
	defer n.lampsMayChange() // seam_lamps.go
	n.mu.Lock()
	moved, err := n.deploy.MoveUsers(n.resolvePoolLocked(from), n.resolvePoolLocked(to))
	n.mu.Unlock()
	if err != nil {
		return nil, err
	}
	n.registrarsChanged()
	return moved, nil
}

// ReassignOrbits runs Set-CsCallParkOrbit -CallParkService to on every range of from.
func (n *Network) ReassignOrbits(from, to string) ([]string, error) {
	defer n.lampsMayChange() // seam_lamps.go
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.ReassignOrbits(n.resolvePoolLocked(from), n.resolvePoolLocked(to))
}

// PairPools makes two pools each other's backup registrar.
func (n *Network) PairPools(a, b string) error {
	defer n.lampsMayChange() // seam_lamps.go
	n.mu.Lock()
	err := n.deploy.PairPools(n.resolvePoolLocked(a), n.resolvePoolLocked(b))
	n.mu.Unlock()
	if err == nil {
		n.registrarsChanged()
	}
	return err
}

// Warnings lists what is legal but will surprise the administrator, such as orbit ranges
// pointing at a pool that no longer exists.
func (n *Network) Warnings() []topology.Warning {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.Warnings()
}
