package sip

import (
	"fmt"

	"github.com/pickupsim/pickupsim/sip/ids"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// What the network tells the simulated phones of its users (phone.Directory), as DNS SRV
// records and in-band provisioning tell real phones: the domain, where each user
// registers, the phones' settings, and when registrars change. Nothing here hands out a
// pool.

// IP returns the address pools without a configured address, and phones, bind to.
func (n *Network) IP() string { return n.ip }

// IDs returns the seed of the identifiers the phones make (nil: random).
func (n *Network) IDs() *ids.Source { return n.ids }

// PhoneSettings returns what the topology sets every simulated phone to.
func (n *Network) PhoneSettings() topology.PhoneSettings { return n.phoneCfg }

// User returns a user of the deployment.
func (n *Network) User(name string) (topology.User, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.User(name)
}

// Registrars returns the addresses a user's phone registers with: its home pool, then the
// home pool's backup.
func (n *Network) Registrars(user string) ([]string, error) {
	n.mu.Lock()
	u, ok := n.deploy.User(user)
	var backup string
	if ok {
		pc, _ := n.deploy.PoolConfig(u.HomePool)
		backup = pc.Backup
	}
	n.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no user named %q in the topology", user)
	}
	var regs []string
	for _, fqdn := range []string{u.HomePool, backup} {
		if p, ok := n.Pool(fqdn); ok && fqdn != "" {
			regs = append(regs, p.Addr())
		}
	}
	return regs, nil
}

// OnRegistrarsChanged calls f each time users' registrars may have changed (Move-CsUser,
// a new backup pairing), synchronously, before the cmdlet returns, until cancel is called:
// the phones learn their new registrars as clients do from DNS and in-band provisioning.
func (n *Network) OnRegistrarsChanged(f func()) (cancel func()) {
	return n.rehomed.add(func(struct{}) { f() })
}

func (n *Network) registrarsChanged() { n.rehomed.run(struct{}{}) }
