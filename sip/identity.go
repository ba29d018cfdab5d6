package sip

import (
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/guard"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Who sent a request. A pool identifies a caller by the transport, address and
// credentials the request came with, never by a header the caller wrote:
//   - a peer pool on an authenticated path (peerPool) vouches for its caller in
//     P-Asserted-Identity (RFC 3325 trust domain: the pools of the topology);
//   - a user with a password must answer the digest challenge (auth.go);
//   - a user without one must send from where it registered on this pool: the same
//     transport and address, and over TCP or TLS the very connection it registered on
//     (sameSource);
//   - anyone else is a caller from outside the enterprise.

// identify establishes who sent an INVITE. It reports false when it answered the request
// with a challenge instead.
func (rt *runtime) identify(req *gosip.Request, tx gosip.ServerTransaction) (topology.Caller, bool) {
	if _, ok := rt.peerPool(req); ok {
		return topology.Caller{User: lync.UserOf(req.GetHeader(lync.HeaderAssertedIdentity))}, true
	}
	user := siputil.FromUser(req)
	if user == "" {
		return topology.Caller{}, true
	}
	if rt.password(user) != "" {
		if !rt.authenticate(req, tx, user) {
			return topology.Caller{}, false
		}
		return topology.Caller{User: user}, true
	}
	b, ok := rt.lookup(user)
	if !ok || !sameSource(b, req, tx) {
		return topology.Caller{}, true
	}
	return topology.Caller{User: user}, true
}

// sameSource reports whether req comes from where the user registered: the same transport
// and source address, and over TCP or TLS the same connection (a new connection from the
// same host, even from the same port after the first closed, is someone else).
func sameSource(b binding, req *gosip.Request, tx gosip.ServerTransaction) bool {
	if !strings.EqualFold(req.Transport(), b.transport) || req.Source() != b.source {
		return false
	}
	if b.transport == "udp" {
		return true
	}
	c := guard.ConnOf(tx)
	return c != nil && c == b.conn
}

// peerPool returns the pool of the topology that sent req over an authenticated path, if
// any. In the lab, an authenticated path is
//   - over UDP, the exact address a pool listens on, which is also the one it sends from
//     (anyone on the lab LAN can spoof a UDP source address: see the README's Security);
//   - over TCP or TLS, a connection that one of this simulator's pools opened to this
//     pool. Pools of one network hold each other's connections in the same process, so
//     the receiving pool checks the sender's side of the connection, as mutual TLS
//     would between real servers. A connection from any other process is not a pool.
func (rt *runtime) peerPool(req *gosip.Request) (peer, bool) {
	dep := rt.pool.dep
	transport := strings.ToLower(req.Transport())
	if transport == "udp" {
		if p, ok := dep.peerAt(req.Source()); ok && p.fqdn != rt.pool.fqdn {
			return p, true
		}
		return peer{}, false
	}
	local := rt.pool.Addr()
	if transport == "tls" {
		local = rt.pool.TLSAddr()
	}
	return dep.peerConnected(rt.pool.fqdn, transport, local, req.Source())
}

// fromPeer reports whether req came from the exact address a pool of the topology listens
// on (the source of a pool's UDP requests).
func (rt *runtime) fromPeer(req *gosip.Request) bool {
	_, ok := rt.pool.dep.peerAt(req.Source())
	return ok
}
