package sip

import (
	"sync/atomic"

	"github.com/pickupsim/pickupsim/sip/internal/guard"
)

// guardCounters counts what the guard caught, for metrics and tests.
type guardCounters struct {
	panics     atomic.Uint64
	dnsLookups atomic.Uint64 // refused name lookups (siputil.NoDNS)
}

// HandlerPanics returns how many SIP handlers of this network's pools and phones panicked
// (each was recovered, logged and answered 500).
func (n *Network) HandlerPanics() uint64 {
	total := n.guards.panics.Load()
	n.phonesMu.Lock()
	defer n.phonesMu.Unlock()
	for _, ph := range n.phones {
		total += ph.panics.Load()
	}
	return total
}

// guard is the input guard (sip/internal/guard) of a pool's handlers.
func (rt *runtime) guard() guard.Guard {
	return guard.Guard{Agent: rt.pool.fqdn, Log: rt.pool.log, Panics: &rt.pool.net.guards.panics}
}

// DNSLookups returns how many name lookups the pools and phones of this network attempted
// (each refused). It stays zero: the simulator sends only to IP addresses.
func (n *Network) DNSLookups() uint64 { return n.guards.dnsLookups.Load() }
