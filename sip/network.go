package sip

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/ids"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Config describes a simulated network.
type Config struct {
	Topology topology.Topology
	// Clock drives every simulated timer; nil means the wall clock.
	Clock clock.Clock
	// Logger receives structured logs of SIP transactions; nil discards them.
	Logger *slog.Logger
	// IP is the loopback address pools without a configured address, and phones, bind to.
	// Empty means 127.0.0.1.
	IP string
	// TLS, when set, makes every pool also accept SIP over TLS, on the port after its
	// UDP/TCP port (5061 for a pool on 5060).
	TLS *tls.Config
	// TCPIdleTimeout closes TCP and TLS connections idle this long; zero means
	// DefaultTCPIdleTimeout.
	TCPIdleTimeout time.Duration
	// MaxConnections caps each pool listener's open TCP (or TLS) connections; zero means
	// DefaultMaxConnections.
	MaxConnections int
	// IDs seeds the identifiers pools and phones make (package ids), so that a replay is
	// the same each time; nil draws them at random.
	IDs *ids.Source
}

// Network is a running deployment: its pools as SIP servers on real sockets, and the
// deployment model they share (Lync's Central Management store and pool heartbeats).
type Network struct {
	clock    clock.Clock
	log      *slog.Logger
	tls      *tls.Config
	ip       string
	domain   string
	idle     time.Duration // TCP and TLS idle timeout (transport.go)
	maxConns int           // per listener
	ids      *ids.Source   // the seed of every identifier pools and phones make

	// mu guards the deployment model, read by every pool's handlers.
	mu     sync.Mutex
	deploy *topology.Deployment

	poolsMu sync.Mutex
	pools   map[string]*Pool // by FQDN; pools are added and removed when a pool is replaced
	byAddr  sync.Map         // "ip:port" -> *Pool, to recognise requests from peer pools

	phoneCfg topology.PhoneSettings // what every simulated phone of the topology is set to
	rehomed  hub[struct{}]          // observers of registrar changes (directory.go)

	changes hub[Change]   // observers of changes (events.go)
	guards  guardCounters // what the input guard caught (guard.go)

	armed atomic.Pointer[testHooks] // test hooks, set by tests and AtPickup only (hooks.go)
}

// Start builds the deployment from cfg and starts every pool. It returns the topology's
// warnings alongside; an invalid topology starts nothing.
func Start(cfg Config) (*Network, []topology.Warning, error) {
	d, warnings, err := topology.New(cfg.Topology)
	if err != nil {
		return nil, nil, err
	}
	n := &Network{
		clock:    cfg.Clock,
		log:      cfg.Logger,
		ip:       cfg.IP,
		deploy:   d,
		pools:    map[string]*Pool{},
		domain:   d.Domain(),
		tls:      cfg.TLS,
		idle:     cfg.TCPIdleTimeout,
		maxConns: cfg.MaxConnections,
		phoneCfg: cfg.Topology.Phones,
		ids:      cfg.IDs,
	}
	if n.idle <= 0 {
		n.idle = DefaultTCPIdleTimeout
	}
	if n.clock == nil {
		n.clock = clock.Real{}
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.ip == "" {
		n.ip = "127.0.0.1"
	}
	for _, fqdn := range d.Pools() {
		pc, _ := d.PoolConfig(fqdn)
		n.pools[fqdn] = n.newPool(fqdn, n.poolAddr(pc.Address))
	}
	for _, fqdn := range d.Pools() {
		if _, up, _ := d.Phase(fqdn); !up {
			continue // starts in an outage: it answers once recovered
		}
		if err := n.pools[fqdn].start(); err != nil {
			n.Close()
			return nil, nil, fmt.Errorf("starting pool %s: %w", fqdn, err)
		}
	}
	return n, warnings, nil
}

// Close stops every pool. Close the phones (phone.Fleet) first.
func (n *Network) Close() {
	for _, p := range n.allPools() {
		p.stop()
	}
}

// Clock returns the network's clock.
func (n *Network) Clock() clock.Clock { return n.clock }

// Domain returns the enterprise SIP domain.
func (n *Network) Domain() string { return n.domain }

// allPools returns every pool, running or not.
func (n *Network) allPools() []*Pool {
	n.poolsMu.Lock()
	defer n.poolsMu.Unlock()
	pools := make([]*Pool, 0, len(n.pools))
	for _, p := range n.pools {
		pools = append(pools, p)
	}
	return pools
}

// Pool returns a pool by FQDN.
func (n *Network) Pool(fqdn string) (*Pool, bool) {
	n.poolsMu.Lock()
	defer n.poolsMu.Unlock()
	p, ok := n.pools[fqdn]
	return p, ok
}

// Deployment runs f with the deployment model locked, for read-only inspection.
func (n *Network) Deployment(f func(d *topology.Deployment)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f(n.deploy)
}

// decide runs f under the deployment lock with the current time.
func decide[T any](n *Network, f func(d *topology.Deployment, now time.Time) T) T {
	n.mu.Lock()
	defer n.mu.Unlock()
	return f(n.deploy, n.clock.Now())
}

// PoolStatus is one pool's state as an operator sees it.
type PoolStatus struct {
	FQDN    string
	Address string
	Phase   topology.Phase
	Up      bool
}

// Pools returns the status of every pool, sorted by FQDN.
func (n *Network) Pools() []PoolStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []PoolStatus
	for _, fqdn := range n.deploy.Pools() {
		ph, up, _ := n.deploy.Phase(fqdn)
		addr := ""
		if p, ok := n.Pool(fqdn); ok {
			addr = p.Addr()
		}
		out = append(out, PoolStatus{FQDN: fqdn, Address: addr, Phase: ph, Up: up})
	}
	return out
}

// Placement returns where a user is served now, as the deployment model sees it.
func (n *Network) Placement(user string) (topology.Placement, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.Place(user, n.clock.Now())
}

// QueueLength returns how many calls wait in the pickup queue of number on the pool that
// owns the number's range (0 when that pool is down).
func (n *Network) QueueLength(number string) int {
	n.mu.Lock()
	r, ok := n.deploy.LookupOrbit(number)
	n.mu.Unlock()
	if !ok {
		return 0
	}
	p, ok := n.Pool(r.CallParkService)
	if !ok {
		return 0
	}
	return p.queueLength(number)
}

// poolAddr is where a pool configured at address listens: there, or on a free port of the
// network's IP.
func (n *Network) poolAddr(address string) string {
	if address == "" {
		return net.JoinHostPort(n.ip, "0")
	}
	return address
}

// poolAt returns the pool listening on addr ("ip:port"), if any.
func (n *Network) poolAt(addr string) *Pool {
	if v, ok := n.byAddr.Load(addr); ok {
		return v.(*Pool)
	}
	return nil
}
