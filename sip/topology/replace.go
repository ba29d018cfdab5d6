package topology

import (
	"fmt"
	"slices"

	"github.com/pickupsim/pickupsim/park"
)

// Replacing a pool with a new one of another FQDN (seed: "If you deploy a new pool with a
// different fully qualified domain name (FQDN) to replace the primary pool, you need to
// reassign all the Group Call Pickup number ranges that were associated with the primary
// pool to the FQDN of the new pool"). The steps are the administrator's, as in Lync:
// AddPool (Topology Builder), MoveUsers (Move-CsUser), ReassignOrbits (Set-CsCallParkOrbit
// on every range), RemovePool, PairPools; CPS settings of the new pool start at defaults
// and must be set again (SPEC section 5).

// AddPool deploys a new pool, normal and up, unpaired. Its Call Park application runs with
// default settings.
func (d *Deployment) AddPool(p Pool) error {
	p.Backup, p.Phase, p.Down = "", Normal, false
	t := Topology{Pools: []Pool{p}}
	if err := t.validatePools(); err != nil {
		return err
	}
	if _, dup := d.config[p.FQDN]; dup {
		return fmt.Errorf("%w: pool %s already exists", ErrInvalidTopology, p.FQDN)
	}
	d.config[p.FQDN] = p
	d.pools[p.FQDN] = &poolState{phase: Normal, up: true}
	d.cps[p.FQDN] = park.DefaultCPSConfig()
	if p.CPS != nil {
		d.cps[p.FQDN] = *p.CPS
	}
	d.topo.Pools = append(d.topo.Pools, p)
	return nil
}

// MoveUsers rehomes every user of pool from to pool to (Move-CsUser -Force), and returns
// them. The new home must be up and normal.
func (d *Deployment) MoveUsers(from, to string) ([]string, error) {
	if _, ok := d.config[from]; !ok {
		return nil, fmt.Errorf("Move-CsUser: %w", unknownPool(from))
	}
	st, ok := d.pools[to]
	switch {
	case !ok:
		return nil, fmt.Errorf("Move-CsUser: %w", unknownPool(to))
	case !st.up || st.phase != Normal:
		return nil, fmt.Errorf("Move-CsUser to %s: the target pool must be up and normal", to)
	}
	moved := d.UsersOf(from)
	for _, name := range moved {
		u := d.users[name]
		u.HomePool = to
		d.users[name] = u
	}
	for i := range d.topo.Users {
		if d.topo.Users[i].HomePool == from {
			d.topo.Users[i].HomePool = to
		}
	}
	return moved, nil
}

// ReassignOrbits moves every orbit range (CallPark and GroupPickup) of pool from to pool to.
// The old pool need not exist any more: that is the point of the step.
func (d *Deployment) ReassignOrbits(from, to string) ([]string, error) {
	if _, ok := d.config[to]; !ok {
		return nil, fmt.Errorf("Set-CsCallParkOrbit: %w", unknownPool(to))
	}
	ids, err := d.orbits.Reassign(from, to, "")
	if err != nil {
		return nil, fmt.Errorf("Set-CsCallParkOrbit: %w", err)
	}
	for _, id := range ids {
		delete(d.displaced, id) // reassigned on purpose (a replaced pool)
	}
	return ids, nil
}

// RemovePool takes a pool out of the topology. It must be down and have no users left;
// its backup pool is left unpaired. Orbit ranges still pointing at it stay, and are
// reported by Warnings until they are reassigned.
func (d *Deployment) RemovePool(fqdn string) error {
	st, ok := d.pools[fqdn]
	switch {
	case !ok:
		return fmt.Errorf("remove pool: %w", unknownPool(fqdn))
	case st.up:
		return fmt.Errorf("remove pool %s: it is still up; a pool is removed after it failed", fqdn)
	case len(d.UsersOf(fqdn)) > 0:
		return fmt.Errorf("remove pool %s: %d users are still homed on it: move them first (Move-CsUser)", fqdn, len(d.UsersOf(fqdn)))
	}
	if b := d.config[fqdn].Backup; b != "" {
		bc := d.config[b]
		bc.Backup = ""
		d.config[b] = bc
	}
	delete(d.config, fqdn)
	delete(d.pools, fqdn)
	delete(d.cps, fqdn)
	delete(d.redirected, fqdn)
	for id, home := range d.displaced {
		if home == fqdn {
			delete(d.displaced, id)
		}
	}
	d.topo.Pools = slices.DeleteFunc(d.topo.Pools, func(p Pool) bool { return p.FQDN == fqdn })
	for i := range d.topo.Pools {
		if d.topo.Pools[i].Backup == fqdn {
			d.topo.Pools[i].Backup = ""
		}
	}
	return nil
}

// PairPools makes a and b each other's backup; neither may have another partner.
func (d *Deployment) PairPools(a, b string) error {
	for _, p := range []string{a, b} {
		c, ok := d.config[p]
		switch {
		case !ok:
			return fmt.Errorf("pair pools: %w", unknownPool(p))
		case c.Backup != "" && c.Backup != a && c.Backup != b:
			return fmt.Errorf("pair pools: %s is already backed up by %s (pairs are one-to-one)", p, c.Backup)
		}
	}
	if a == b {
		return fmt.Errorf("pair pools: %s cannot back itself up", a)
	}
	for _, pair := range [][2]string{{a, b}, {b, a}} {
		c := d.config[pair[0]]
		c.Backup = pair[1]
		d.config[pair[0]] = c
		for i := range d.topo.Pools {
			if d.topo.Pools[i].FQDN == pair[0] {
				d.topo.Pools[i].Backup = pair[1]
			}
		}
	}
	return nil
}
