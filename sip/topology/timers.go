package topology

import "time"

// BackupRegistrarAt returns when the registrar failover timer of pool runs out: the pool
// is in an outage, and from then on its backup registrar takes its users in resiliency
// mode. It reports false when no timer runs (the pool answers, or has been failed over).
func (d *Deployment) BackupRegistrarAt(pool string) (time.Time, bool) {
	st, ok := d.pools[pool]
	if !ok || st.phase != Outage || st.up {
		return time.Time{}, false
	}
	return st.downSince.Add(d.topo.RegistrarFailoverTimer), true
}
