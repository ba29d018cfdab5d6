package topology

import (
	"fmt"

	"github.com/pickupsim/pickupsim/park"
)

// A GroupPickup range moved from a pool to its backup while the pool was failing (by
// Set-CsCallParkOrbit, or by AutoRedirectOrbits when failover completes) is displaced: its
// home is the pool it left. The seed says the ranges "must be redirected back to the primary
// pool after the failback process to the primary pool is complete", and that after failback
// Group Call Pickup is available "when users are out of resiliency and Group Call Pickup
// number ranges are redirected back to primary pool". So once the home pool is serving again,
// a displaced range still on the backup refuses pickups, and the deployment warns, until the
// administrator redirects it: a rehearsal that forgets the runbook's last step fails, as the
// real failback would. A range that was on another pool before any failure (a group whose
// members are homed on several pools, SPEC section 3) is not displaced and keeps working.

// noteMove records that range id, of type t, moves from pool from to pool to.
func (d *Deployment) noteMove(id string, t park.RangeType, from, to string) {
	if t != park.GroupPickup || from == to {
		return
	}
	if home, ok := d.displaced[id]; ok {
		if to == home || to != d.config[home].Backup {
			delete(d.displaced, id) // redirected back, or reassigned elsewhere on purpose
		}
		return
	}
	if st, ok := d.pools[from]; ok && to == d.config[from].Backup && (st.phase != Normal || !st.up) {
		d.displaced[id] = from
	}
}

// notRedirectedBack refuses range r when it is displaced and its home pool serves again.
func (d *Deployment) notRedirectedBack(r park.OrbitRange) *Rejection {
	home, ok := d.displaced[r.Identity]
	if !ok {
		return nil
	}
	if st := d.pools[home]; st != nil && st.up && st.phase == Normal {
		return GroupPickupRangeNotRedirectedBack(r, home)
	}
	return nil
}

// displacedWarnings lists the displaced ranges whose home serves again.
func (d *Deployment) displacedWarnings() []Warning {
	var out []Warning
	for _, r := range d.orbits.List() {
		if d.notRedirectedBack(r) != nil {
			home := d.displaced[r.Identity]
			out = append(out, Warning(fmt.Sprintf("orbit range %s still points at %s although %s serves again: Group Call Pickup through it is refused until Set-CsCallParkOrbit -Identity %s -CallParkService %s",
				r.Identity, r.CallParkService, home, r.Identity, home)))
		}
	}
	return out
}
