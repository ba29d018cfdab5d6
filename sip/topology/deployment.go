package topology

import (
	"fmt"
	"sort"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/pickup"
)

// Deployment is the live state of a topology: pool phases, the orbit table and pickup
// assignments. It is not safe for concurrent use; package sip guards it with one lock, as
// Lync's Central Management store is one source of truth for every pool.
type Deployment struct {
	topo   Topology
	pools  map[string]*poolState
	config map[string]Pool
	users  map[string]User
	orbits *park.OrbitTable
	groups *pickup.Groups
	cps    map[string]park.CPSConfig
	// privateLines maps each user's private line number to the user.
	privateLines map[string]string
	// redirected remembers, per failed-over pool, the GroupPickup ranges the simulator moved
	// to the backup itself (AutoRedirectOrbits), so failback completion moves those back.
	redirected map[string][]string
	// displaced maps a GroupPickup range moved to a backup while its pool was failing to
	// that pool, its home (displaced.go).
	displaced map[string]string
}

// Warning is something legal but likely wrong in a topology.
type Warning string

// New checks t and returns its deployment with every pool in its starting phase (normal
// and up unless the topology says otherwise), plus warnings
// (SPEC section 1: Group Call Pickup through a disaster needs the Call Park application in
// both pools of a pair).
func New(t Topology) (*Deployment, []Warning, error) {
	t.applyDefaults()
	if err := t.validatePools(); err != nil {
		return nil, nil, err
	}
	if err := t.validateUsers(); err != nil {
		return nil, nil, err
	}
	if err := validDirectedPrefix(t.DirectedPickupPrefix); err != nil {
		return nil, nil, err
	}
	d := &Deployment{
		topo:         t,
		pools:        map[string]*poolState{},
		config:       map[string]Pool{},
		users:        map[string]User{},
		orbits:       park.NewOrbitTable(),
		groups:       pickup.NewGroups(),
		cps:          map[string]park.CPSConfig{},
		redirected:   map[string][]string{},
		displaced:    map[string]string{},
		privateLines: map[string]string{},
	}
	for _, p := range t.Pools {
		d.pools[p.FQDN] = &poolState{phase: p.Phase, up: !p.Down}
		d.config[p.FQDN] = p
		d.cps[p.FQDN] = park.DefaultCPSConfig()
		if p.CPS != nil {
			d.cps[p.FQDN] = *p.CPS
		}
	}
	for _, r := range t.Orbits {
		if err := d.NewOrbit(r); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrInvalidTopology, err)
		}
	}
	for _, u := range t.Users {
		d.users[u.Name] = u
		if u.PrivateLine != "" {
			if r, ok := d.orbits.Lookup(u.PrivateLine); ok {
				return nil, nil, fmt.Errorf("%w: user %s: private line %s is in orbit range %s", ErrInvalidTopology, u.Name, u.PrivateLine, r.Identity)
			}
			d.privateLines[u.PrivateLine] = u.Name
		}
		if u.PickupNumber != "" {
			if err := d.EnableGroupPickup(u.Name, u.PickupNumber); err != nil {
				return nil, nil, fmt.Errorf("%w: %w", ErrInvalidTopology, err)
			}
		}
	}
	return d, d.Warnings(), nil
}

// Warnings lists what is legal but will surprise the administrator during a disaster.
func (d *Deployment) Warnings() []Warning {
	var out []Warning
	for _, fqdn := range d.Pools() {
		p := d.config[fqdn]
		if p.Backup == "" {
			out = append(out, Warning(fmt.Sprintf("pool %s has no backup pool: its users have no service during an outage", fqdn)))
			continue
		}
		if (p.CPSDisabled || d.config[p.Backup].CPSDisabled) && fqdn < p.Backup { // once per pair
			out = append(out, Warning(fmt.Sprintf("pool %s: the Call Park application must run in both %s and %s for Group Call Pickup to survive a disaster", fqdn, fqdn, p.Backup)))
		}
	}
	for _, r := range d.orbits.List() {
		if _, ok := d.config[r.CallParkService]; !ok {
			out = append(out, Warning(fmt.Sprintf("orbit range %s points at %s, which is not a pool of this topology: reassign it with Set-CsCallParkOrbit", r.Identity, r.CallParkService)))
		}
	}
	return append(out, d.displacedWarnings()...)
}

// Topology returns the static description the deployment was built from.
func (d *Deployment) Topology() Topology { return d.topo }

// Pools returns every pool FQDN, sorted.
func (d *Deployment) Pools() []string {
	out := make([]string, 0, len(d.config))
	for f := range d.config {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// PoolConfig returns a pool's static configuration.
func (d *Deployment) PoolConfig(fqdn string) (Pool, bool) {
	p, ok := d.config[fqdn]
	return p, ok
}

// Phase returns a pool's disaster-recovery phase and whether it answers.
func (d *Deployment) Phase(pool string) (Phase, bool, error) {
	st, ok := d.pools[pool]
	if !ok {
		return 0, false, unknownPool(pool)
	}
	return st.phase, st.up, nil
}

// User returns a user by name.
func (d *Deployment) User(name string) (User, bool) {
	u, ok := d.users[name]
	return u, ok
}

// Users returns every user name, sorted.
func (d *Deployment) Users() []string {
	out := make([]string, 0, len(d.users))
	for n := range d.users {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// UsersOf returns the users homed on pool, sorted.
func (d *Deployment) UsersOf(pool string) []string {
	var out []string
	for _, n := range d.Users() {
		if d.users[n].HomePool == pool {
			out = append(out, n)
		}
	}
	return out
}

// Domain is the enterprise SIP domain.
func (d *Deployment) Domain() string { return d.topo.Domain }

func unknownPool(pool string) error {
	return fmt.Errorf("no pool named %q in the topology", pool)
}

func (d *Deployment) backupOf(pool string) (string, *poolState) {
	b := d.config[pool].Backup
	if b == "" {
		return "", nil
	}
	return b, d.pools[b]
}
