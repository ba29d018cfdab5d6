package scenario

import (
	"fmt"
	"strconv"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// The deployment a rehearsal's population generates. Pool k (1-based) is poolKK.<domain>,
// backed up by its pair (pool01 and pool02, pool03 and pool04, ...). Its users are
// pKKu00001 onwards; consecutive users of a pool form the pickup groups, numbered from
// k·10000 in the range pickup-poolKK, which pool k's Call Park application owns; pool k
// also owns park-poolKK, orbits 9KK000-9KK999.

// PoolFQDN names pool k (1-based).
func (p Population) PoolFQDN(k int) string { return fmt.Sprintf("pool%02d.%s", k, p.Domain) }

// BackupOf returns the pool that backs up pool k.
func (p Population) BackupOf(k int) int {
	if k%2 == 1 {
		return k + 1
	}
	return k - 1
}

// UserName names user i (0-based) of pool k.
func (p Population) UserName(k, i int) string { return fmt.Sprintf("p%02du%05d", k, i+1) }

// GroupNumber returns the Group Call Pickup number of user i of pool k, "" without groups.
func (p Population) GroupNumber(k, i int) string {
	if p.GroupSize == 0 {
		return ""
	}
	return strconv.Itoa(k*10000 + i/p.GroupSize)
}

// Groups is how many pickup groups a pool has.
func (p Population) Groups() int {
	if p.GroupSize == 0 {
		return 0
	}
	return (p.UsersPerPool + p.GroupSize - 1) / p.GroupSize
}

// Users is the whole population.
func (p Population) Users() int { return p.Pools * p.UsersPerPool }

// PickupRange and ParkRange are the identities of pool k's orbit ranges.
func (p Population) PickupRange(k int) string { return fmt.Sprintf("pickup-pool%02d", k) }
func (p Population) ParkRange(k int) string   { return fmt.Sprintf("park-pool%02d", k) }

// Topology builds the deployment.
func (p Population) Topology() topology.Topology {
	t := topology.Topology{Domain: p.Domain, RegistrarFailoverTimer: p.RegistrarFailoverTimer}
	for k := 1; k <= p.Pools; k++ {
		t.Pools = append(t.Pools, topology.Pool{FQDN: p.PoolFQDN(k), Backup: p.PoolFQDN(p.BackupOf(k))})
		if g := p.Groups(); g > 0 {
			t.Orbits = append(t.Orbits, park.OrbitRange{Identity: p.PickupRange(k), NumberRangeStart: strconv.Itoa(k * 10000),
				NumberRangeEnd: strconv.Itoa(k*10000 + g - 1), CallParkService: p.PoolFQDN(k), Type: park.GroupPickup})
		}
		t.Orbits = append(t.Orbits, park.OrbitRange{Identity: p.ParkRange(k), NumberRangeStart: strconv.Itoa(900000 + k*1000),
			NumberRangeEnd: strconv.Itoa(900000 + k*1000 + 999), CallParkService: p.PoolFQDN(k), Type: park.CallPark})
		for i := range p.UsersPerPool {
			t.Users = append(t.Users, topology.User{Name: p.UserName(k, i), HomePool: p.PoolFQDN(k), PickupNumber: p.GroupNumber(k, i)})
		}
	}
	return t
}
