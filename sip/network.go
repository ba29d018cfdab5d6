package sip

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/clock"
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

	// mu guards the deployment model, read by every pool's handlers.
	mu     sync.Mutex
	deploy *topology.Deployment

	poolsMu sync.Mutex
	pools   map[string]*Pool // by FQDN; pools are added and removed when a pool is replaced
	byAddr  sync.Map         // "ip:port" -> *Pool, to recognise requests from peer pools

	phonesMu sync.Mutex
	phones   []*Phone
	phoneCfg topology.PhoneSettings // what every simulated phone of the topology is set to

	changes changeHub     // observers of changes (events.go)
	guards  guardCounters // what the input guard caught (guard.go)

	hooks atomic.Pointer[testHooks] // set by tests only (hooks.go)
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
		p := &Pool{fqdn: fqdn, net: n, addr: pc.Address, log: n.log.With("pool", fqdn)}
		if p.addr == "" {
			p.addr = net.JoinHostPort(n.ip, "0")
		}
		n.pools[fqdn] = p
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

// Close stops every phone and pool.
func (n *Network) Close() {
	n.phonesMu.Lock()
	phones := n.phones
	n.phones = nil
	n.phonesMu.Unlock()
	for _, ph := range phones {
		ph.Close()
	}
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

// ErrUnknownPool is returned for an FQDN that is not in the topology.
var ErrUnknownPool = errors.New("no such pool")

// Outage makes a pool stop answering: its sockets close and everything it held in memory
// (registrations, pickup queues, the Call Park application's calls) is lost.
func (n *Network) Outage(pool string) error { return n.apply(pool, topology.PoolOutage) }

// Recover brings a pool back on its address, with empty memory.
func (n *Network) Recover(pool string) error { return n.apply(pool, topology.PoolRecovery) }

// InvokeFailOver is Invoke-CsPoolFailOver -PoolFqdn pool -DisasterMode: the failover of a
// pool that stopped answering starts.
func (n *Network) InvokeFailOver(pool string) error { return n.apply(pool, topology.FailOverStart) }

// InvokePlannedFailOver is Invoke-CsPoolFailOver -PoolFqdn pool without -DisasterMode: the
// administrator fails over a pool that still answers (maintenance). Its users are signed
// out and move to the backup, in resiliency mode until the failover completes; the pool
// answers their REGISTERs with 301s towards the backup; its Call Park application stops
// (queued calls are lost, parked calls disconnected); calls it bridged stay up.
func (n *Network) InvokePlannedFailOver(pool string) error {
	return n.apply(pool, topology.PlannedFailOverStart)
}

// CompleteFailOver marks the failover of pool as finished.
func (n *Network) CompleteFailOver(pool string) error {
	return n.apply(pool, topology.FailOverComplete)
}

// InvokeFailBack is Invoke-CsPoolFailBack -PoolFqdn pool: the failback process starts.
func (n *Network) InvokeFailBack(pool string) error { return n.apply(pool, topology.FailBackStart) }

// CompleteFailBack marks the failback of pool as finished.
func (n *Network) CompleteFailBack(pool string) error {
	return n.apply(pool, topology.FailBackComplete)
}

// apply runs a disaster-recovery event through the model and carries out its decisions.
func (n *Network) apply(pool string, ev topology.Event) error {
	p, ok := n.Pool(pool)
	if !ok {
		return fmt.Errorf("%s on %q: %w", ev, pool, ErrUnknownPool)
	}
	n.mu.Lock()
	tr, err := n.deploy.Apply(pool, ev, n.clock.Now())
	n.mu.Unlock()
	if err != nil {
		return err
	}
	n.log.Info("disaster recovery", "pool", pool, "event", ev.String(), "from", tr.From.String(), "to", tr.To.String(), "up", tr.Up, "redirected", tr.Redirected)
	switch ev {
	case topology.PoolOutage:
		p.stop()
	case topology.PoolRecovery:
		if err := p.start(); err != nil {
			return fmt.Errorf("%s on %s: %w", ev, pool, err)
		}
	}
	for _, so := range tr.SignOut {
		if sp, ok := n.Pool(so.Pool); ok {
			sp.signOut(so.Users)
		}
	}
	if tr.StopCallPark {
		p.stopCallPark()
	}
	if !tr.Lost.Empty() {
		// Wherever a group's queue is held (SPEC section 3: the owner of its range).
		for _, op := range n.allPools() {
			op.dropLost(tr.Lost)
		}
	}
	n.emit(Change{Kind: ChangePhase, Pool: pool, Detail: fmt.Sprintf("%s: %s -> %s", ev, tr.From, tr.To)})
	return nil
}

// NewCallParkOrbit is New-CsCallParkOrbit.
func (n *Network) NewCallParkOrbit(r park.OrbitRange) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.NewOrbit(r)
}

// SetCallParkOrbit is Set-CsCallParkOrbit.
func (n *Network) SetCallParkOrbit(identity string, c park.OrbitChange) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.SetOrbit(identity, c)
}

// RedirectCallParkOrbit is the runbook step Set-CsCallParkOrbit -Identity id -CallParkService pool.
func (n *Network) RedirectCallParkOrbit(identity, pool string) error {
	return n.SetCallParkOrbit(identity, park.OrbitChange{CallParkService: &pool})
}

// RemoveCallParkOrbit is Remove-CsCallParkOrbit.
func (n *Network) RemoveCallParkOrbit(identity string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.RemoveOrbit(identity)
}

// CallParkOrbits is Get-CsCallParkOrbit.
func (n *Network) CallParkOrbits() []park.OrbitRange {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.Orbits()
}

// EnableGroupPickup is SEFAUtil /enablegrouppickup:<number>.
func (n *Network) EnableGroupPickup(user, number string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.EnableGroupPickup(user, number)
}

// DisableGroupPickup is SEFAUtil /disablegrouppickup.
func (n *Network) DisableGroupPickup(user string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.DisableGroupPickup(user)
}

// SetCpsConfiguration is Set-CsCpsConfiguration for one pool: the parameters the change
// names are set, the others keep their values (park.AllOf sets them all). It returns the
// settings now in force.
func (n *Network) SetCpsConfiguration(pool string, ch park.CPSChange) (park.CPSConfig, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.SetCPS(pool, ch)
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

// poolAt returns the pool listening on addr ("ip:port"), if any.
func (n *Network) poolAt(addr string) *Pool {
	if v, ok := n.byAddr.Load(addr); ok {
		return v.(*Pool)
	}
	return nil
}

// userExists reports whether name is a user of the deployment.
func (n *Network) userExists(name string) (topology.User, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.User(name)
}
