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

// HandlerPanics returns how many SIP handlers of this network's pools panicked (each was
// recovered, logged and answered 500). The phones count theirs (phone.Fleet.HandlerPanics).
func (n *Network) HandlerPanics() uint64 { return n.guards.panics.Load() }

// guard is the input guard (sip/internal/guard) of a pool's handlers.
func (rt *runtime) guard() guard.Guard {
	return guard.Guard{Agent: rt.pool.fqdn, Log: rt.pool.log, Panics: &rt.pool.cfg.guards.panics,
		Stopped: func() bool { return rt.ctx.Err() != nil }}
}

// DNSLookups returns how many name lookups the pools of this network attempted (each
// refused). It stays zero: the simulator sends only to IP addresses. The phones count theirs
// (phone.Fleet.DNSLookups).
func (n *Network) DNSLookups() uint64 { return n.guards.dnsLookups.Load() }
