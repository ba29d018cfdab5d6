package topology

import (
	"fmt"

	"github.com/pickupsim/pickupsim/park"
)

// NewOrbit is New-CsCallParkOrbit. The owning pool must exist.
func (d *Deployment) NewOrbit(r park.OrbitRange) error {
	if _, ok := d.config[park.PoolName(r.CallParkService)]; !ok && park.PoolName(r.CallParkService) != "" {
		return fmt.Errorf("New-CsCallParkOrbit %s: CallParkService %s: %w", r.Identity, r.CallParkService, unknownPool(r.CallParkService))
	}
	if err := d.orbits.New(r); err != nil {
		return fmt.Errorf("New-CsCallParkOrbit: %w", err)
	}
	return nil
}

// SetOrbit is Set-CsCallParkOrbit. A new owning pool must exist.
func (d *Deployment) SetOrbit(identity string, c park.OrbitChange) error {
	if c.CallParkService != nil {
		if _, ok := d.config[park.PoolName(*c.CallParkService)]; !ok {
			return fmt.Errorf("Set-CsCallParkOrbit %s: CallParkService %s: %w", identity, *c.CallParkService, unknownPool(*c.CallParkService))
		}
	}
	before, _ := d.orbits.Get(identity)
	if err := d.orbits.Set(identity, c); err != nil {
		return fmt.Errorf("Set-CsCallParkOrbit: %w", err)
	}
	after, _ := d.orbits.Get(identity)
	d.noteMove(identity, after.Type, before.CallParkService, after.CallParkService)
	return nil
}

// RemoveOrbit is Remove-CsCallParkOrbit. Users whose pickup number was in the range keep
// it, as in Lync; their calls are no longer queued.
func (d *Deployment) RemoveOrbit(identity string) error {
	if err := d.orbits.Remove(identity); err != nil {
		return fmt.Errorf("Remove-CsCallParkOrbit: %w", err)
	}
	delete(d.displaced, identity)
	return nil
}

// Orbit is Get-CsCallParkOrbit -Identity.
func (d *Deployment) Orbit(identity string) (park.OrbitRange, bool) { return d.orbits.Get(identity) }

// Orbits is Get-CsCallParkOrbit: every range, sorted by identity.
func (d *Deployment) Orbits() []park.OrbitRange { return d.orbits.List() }

// LookupOrbit returns the range a number belongs to.
func (d *Deployment) LookupOrbit(number string) (park.OrbitRange, bool) {
	return d.orbits.Lookup(Dialled(number))
}

// EnableGroupPickup is SEFAUtil /enablegrouppickup:<number>: number must be in a
// GroupPickup range (as New-CsGroupPickupUserOrbit checks, GroupPickupRange). URI
// parameters (";phone-context=...") are not part of the number and are not stored. The
// user may be written as the cmdlets take one (UserName).
func (d *Deployment) EnableGroupPickup(user, number string) error {
	user, number = UserName(user), Dialled(number)
	if _, ok := d.users[user]; !ok {
		return fmt.Errorf("enable group pickup: no user named %q in the topology", user)
	}
	if _, err := GroupPickupRange(d.orbits, number); err != nil {
		return fmt.Errorf("enable group pickup for %s: %w", user, err)
	}
	d.groups.Assign(user, number)
	return nil
}

// DisableGroupPickup is SEFAUtil /disablegrouppickup.
func (d *Deployment) DisableGroupPickup(user string) error {
	user = UserName(user)
	if _, ok := d.users[user]; !ok {
		return fmt.Errorf("disable group pickup: no user named %q in the topology", user)
	}
	if err := d.groups.Remove(user); err != nil {
		return fmt.Errorf("disable group pickup: %w", err)
	}
	return nil
}

// PickupNumber returns user's Group Call Pickup number.
func (d *Deployment) PickupNumber(user string) (string, bool) { return d.groups.NumberOf(user) }

// CPS returns the Call Park application settings of pool.
func (d *Deployment) CPS(pool string) (park.CPSConfig, error) {
	c, ok := d.cps[pool]
	if !ok {
		return park.CPSConfig{}, unknownPool(pool)
	}
	return c, nil
}

// SetCPS is Set-CsCpsConfiguration for pool: the parameters ch names change, the others
// keep their current values. It returns the settings now in force; invalid settings change
// nothing. Every caller (admin API, scenario step, Go API) goes through here, so they cannot
// drift apart.
func (d *Deployment) SetCPS(pool string, ch park.CPSChange) (park.CPSConfig, error) {
	cur, ok := d.cps[pool]
	if !ok {
		return park.CPSConfig{}, fmt.Errorf("Set-CsCpsConfiguration: %w", unknownPool(pool))
	}
	if ch.Empty() {
		return cur, fmt.Errorf("Set-CsCpsConfiguration %s: no setting given (CallPickupTimeoutThreshold, MaxCallPickupAttempts, OnTimeoutURI, EnableMusicOnHold)", pool)
	}
	next := ch.Apply(cur)
	if err := next.Validate(); err != nil {
		return cur, fmt.Errorf("Set-CsCpsConfiguration %s: %w", pool, err)
	}
	d.cps[pool] = next
	return next, nil
}
