package siputil

import (
	"context"
	"errors"
	"net"
	"sync/atomic"

	"github.com/emiago/sipgo"
)

// Pools and simulated phones never resolve a name through the machine's DNS: pools know
// each other from the topology, phones are reached at the IP addresses they registered
// from, and every request the simulator sends has an IP destination. A name that still
// reaches sipgo's transport (a hostile Via over a closed TCP connection, a Contact naming a
// host) meets a resolver that refuses, and is counted: the count stays at zero, and tests
// check it does.

// errNoDNS is what a lookup gets.
var errNoDNS = errors.New("pickupsim resolves no names: use an IP address")

// refusingResolver returns a resolver whose every query fails without leaving the process,
// counting each in lookups (when not nil). PreferGo keeps the lookup in Go's resolver,
// whose only way out is Dial; names in /etc/hosts never reach it because the simulator's
// destinations are IP addresses.
func refusingResolver(lookups *atomic.Uint64) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			if lookups != nil {
				lookups.Add(1)
			}
			return nil, errNoDNS
		},
	}
}

// NoDNS is the user-agent option every pool and phone is built with.
func NoDNS(lookups *atomic.Uint64) sipgo.UserAgentOption {
	return sipgo.WithUserAgentDNSResolver(refusingResolver(lookups))
}
