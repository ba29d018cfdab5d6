package sip

import (
	"crypto/tls"
	"time"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// deployment is the seam between a pool and the deployment it runs in: the questions a
// pool asks of Lync's Central Management store and of its peers, and where it reports what
// it did. A pool holds nothing else of the Network (which implements it), so a pool could
// run in a process of its own with this interface answered over the wire: every answer is
// a value, never a pointer into another pool.
type deployment interface {
	model
	peers
	reports
	// Clock runs every timer and timestamp of the pools.
	Clock() clock.Clock
}

// model is the deployment model's decisions (sip/topology), each taken at the clock's
// current time, and what every pool knows of the topology.
type model interface {
	route(pool string, caller topology.Caller, dialled string) topology.Route
	register(pool, user string) topology.RegisterDecision
	queueAt(pool string, c topology.Ringing) (topology.QueueDecision, bool)
	holdsQueue(pool, number string) bool
	admitPark(pool string, r topology.ParkRequest) topology.ParkAdmission
	maySubscribe(subscriber topology.Caller, target, pkg string) *topology.Rejection
	lampModel // busy lamps and directed pickup (seam_lamps.go)
	cps(pool string) park.CPSConfig
	lookupOrbit(number string) (park.OrbitRange, bool)
	Domain() string
	User(name string) (topology.User, bool)
}

// peers is what a pool learns of the other pools: by FQDN, by the address they listen on,
// by a connection one of them opened to self (TCP and TLS), and which of them holds a
// user's registration.
type peers interface {
	peer(fqdn string) (peer, bool)
	peerAt(addr string) (peer, bool)
	peerConnected(self, transport, local, source string) (peer, bool)
	registeredOn(user string) (fqdn string, mode topology.Mode, ok bool)
}

// reports is where a pool says what it did: a response sent (status pages, metrics), a
// pool listening (so peers recognise its address), and the points at which tests force a
// race's interleaving.
type reports interface {
	emit(c Change)
	listening(p *Pool, addr string)
	hooks() testHooks
}

// peer is what a pool knows of another pool of its deployment.
type peer struct {
	fqdn string
	addr string // "ip:port" where it listens
	up   bool   // its sockets are open
}

// poolSettings is what a pool is started with, and keeps: its transport settings and
// where its input guard counts what it catches.
type poolSettings struct {
	tls      *tls.Config   // nil: no SIP over TLS
	idle     time.Duration // TCP and TLS idle timeout (transport.go)
	maxConns int           // per listener
	guards   *guardCounters
}

// The Network's side of the seam.

var _ deployment = (*Network)(nil)

// newPool builds a pool of the network, not started.
func (n *Network) newPool(fqdn, addr string) *Pool {
	return &Pool{fqdn: fqdn, dep: n, addr: addr, log: n.log.With("pool", fqdn), ids: n.ids.Gen(fqdn),
		cfg: poolSettings{tls: n.tls, idle: n.idle, maxConns: n.maxConns, guards: &n.guards}}
}

func (n *Network) route(pool string, caller topology.Caller, dialled string) topology.Route {
	return decide(n, func(d *topology.Deployment, now time.Time) topology.Route { return d.Route(pool, caller, dialled, now) })
}

func (n *Network) register(pool, user string) topology.RegisterDecision {
	return decide(n, func(d *topology.Deployment, now time.Time) topology.RegisterDecision {
		return d.Register(pool, user, now)
	})
}

func (n *Network) queueAt(pool string, c topology.Ringing) (topology.QueueDecision, bool) {
	type verdict struct {
		q  topology.QueueDecision
		ok bool
	}
	v := decide(n, func(d *topology.Deployment, now time.Time) verdict {
		q, ok := d.QueueAt(pool, c, now)
		return verdict{q, ok}
	})
	return v.q, v.ok
}

func (n *Network) holdsQueue(pool, number string) bool {
	return decide(n, func(d *topology.Deployment, _ time.Time) bool { return d.HoldsQueue(pool, number) })
}

func (n *Network) admitPark(pool string, r topology.ParkRequest) topology.ParkAdmission {
	return decide(n, func(d *topology.Deployment, now time.Time) topology.ParkAdmission { return d.AdmitPark(pool, r, now) })
}

func (n *Network) maySubscribe(subscriber topology.Caller, target, pkg string) *topology.Rejection {
	return decide(n, func(d *topology.Deployment, _ time.Time) *topology.Rejection {
		return d.MaySubscribe(subscriber, target, pkg)
	})
}

func (n *Network) cps(pool string) park.CPSConfig {
	return decide(n, func(d *topology.Deployment, _ time.Time) park.CPSConfig {
		c, _ := d.CPS(pool)
		return c
	})
}

func (n *Network) lookupOrbit(number string) (park.OrbitRange, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.LookupOrbit(number)
}

func peerOf(p *Pool) peer { return peer{fqdn: p.fqdn, addr: p.Addr(), up: p.Up()} }

func (n *Network) peer(fqdn string) (peer, bool) {
	p, ok := n.Pool(fqdn)
	if !ok {
		return peer{}, false
	}
	return peerOf(p), true
}

func (n *Network) peerAt(addr string) (peer, bool) {
	if p := n.poolAt(addr); p != nil {
		return peerOf(p), true
	}
	return peer{}, false
}

// peerConnected finds the pool, other than self, that opened the connection from source to
// local over transport (TCP or TLS). Pools of one network hold each other's connections in
// the same process, so this looks at the sender's side of the connection, as mutual TLS
// would between real servers.
func (n *Network) peerConnected(self, transport, local, source string) (peer, bool) {
	for _, p := range n.allPools() {
		if p.fqdn == self {
			continue
		}
		prt := p.runtime()
		if prt == nil {
			continue
		}
		c, err := prt.ua.TransportLayer().GetConnection(transport, local)
		if err != nil || c == nil {
			continue
		}
		mine := c.LocalAddr().String() == source
		c.TryClose() // GetConnection took a reference
		if mine {
			return peerOf(p), true
		}
	}
	return peer{}, false
}

func (n *Network) registeredOn(user string) (string, topology.Mode, bool) {
	return n.Registration(user)
}

// Registration returns the pool user is registered on and the mode it serves the user in
// now (Pool.Registered for one user; the first pool, in the order of Pools, that has it).
func (n *Network) Registration(user string) (pool string, mode topology.Mode, ok bool) {
	for _, ps := range n.Pools() {
		p, ok := n.Pool(ps.FQDN)
		if !ok {
			continue
		}
		if m, ok := p.registeredMode(user); ok {
			return ps.FQDN, m, true
		}
	}
	return "", 0, false
}

func (n *Network) listening(p *Pool, addr string) { n.byAddr.Store(addr, p) }

// hooks returns the network's test hooks (none in production).
func (n *Network) hooks() testHooks {
	if h := n.armed.Load(); h != nil {
		return *h
	}
	return testHooks{}
}
