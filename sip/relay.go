package sip

import (
	"net"
	"strconv"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/guard"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// A closed network. A pool passes a request on only
//   - within the dialogs its Call Park application set up (parking.inDialog, byeBridge),
//   - to a phone registered on it (at the address the registration proved: route below),
//   - to a pool of the topology (at the address it listens on).
//
// Anything else (an out-of-dialog BYE, MESSAGE, NOTIFY, INFO, UPDATE, REFER or ACK, or a
// To-tagged INVITE, for some other host) is refused with 403 and logged, or, for an ACK,
// dropped: a pool is neither an open relay nor a reflector. Destinations are always IP
// addresses (siputil.NoDNS).

// target is where a pool sends a request.
type target struct {
	uri       gosip.Uri // the new Request-URI
	addr      string    // ip:port to send to
	transport string    // udp, tcp or tls
	name      string    // what it is, for Warnings: "bob's phone", a pool's FQDN
}

// route is where a pool reaches a registered phone. Over TCP or TLS, the connection the
// phone registered on. Over UDP, the Contact it registered when the Contact is an IP
// address and the one the REGISTER came from; otherwise the REGISTER's source address (as
// SIP outbound does, RFC 5626): a registration can point a pool neither at a third party
// nor at a name it would have to resolve.
func (b binding) route() target {
	t := target{uri: b.contact, addr: b.source, transport: b.transport, name: b.user + "'s phone"}
	if b.transport != "udp" {
		return t
	}
	src, _, _ := net.SplitHostPort(b.source)
	if ip := net.ParseIP(b.contact.Host); ip != nil && ip.Equal(net.ParseIP(src)) {
		t.addr = hostPort(b.contact)
	}
	return t
}

// reaches reports whether uri addresses this registered phone: its Contact, or the address
// the pool reaches it at.
func (b binding) reaches(uri gosip.Uri) bool {
	hp := hostPort(uri)
	return hp == hostPort(b.contact) || hp == b.route().addr
}

// hostPort renders a URI's host and port, with the SIP default port when it has none.
func hostPort(u gosip.Uri) string {
	port := u.Port
	if port == 0 {
		port = 5060
		if strings.EqualFold(u.Scheme, "sips") {
			port = 5061
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Host), strconv.Itoa(port))
}

// relayTarget returns where this pool may pass on a request for uri: a phone registered on
// it, or another pool of the topology (by address or FQDN). ok is false for anything else.
func (rt *runtime) relayTarget(uri gosip.Uri) (target, bool) {
	now := rt.pool.dep.Clock().Now()
	rt.mu.Lock()
	for _, b := range rt.bindings {
		if !now.After(b.expires) && b.reaches(uri) {
			rt.mu.Unlock()
			t := b.route()
			t.uri = uri
			return t, true
		}
	}
	rt.mu.Unlock()
	dep := rt.pool.dep
	peer, ok := dep.peerAt(hostPort(uri))
	if !ok {
		peer, ok = dep.peer(strings.ToLower(uri.Host))
	}
	if !ok || peer.fqdn == rt.pool.fqdn || !peer.up {
		return target{}, false
	}
	return target{uri: uri, addr: peer.addr, transport: "udp", name: peer.fqdn}, true
}

// refuse answers req with r statelessly (guard.WriteStateless): for refusals decided
// before the pool keeps anything for the request, so a flood of them leaves nothing behind.
func (rt *runtime) refuse(tx gosip.ServerTransaction, req *gosip.Request, r *topology.Rejection) {
	rt.log("refused", req, "code", r.Code, "warning", r.Warning, "diagnostic", r.Diagnostic)
	sendStateless(tx, lync.Response(req, r, rt.pool.fqdn))
}

// sendStateless sends a final response without keeping its transaction.
func sendStateless(tx gosip.ServerTransaction, res *gosip.Response) error {
	if a, ok := tx.(guard.AnsweredTx); ok {
		return a.RespondStateless(res)
	}
	return guard.WriteStateless(tx, res)
}

// contactByAddress makes a message's Contact an IP address: a Contact that names a host is
// replaced by the address the message came from (as SIP outbound does, RFC 5626). Pools
// apply it to the INVITEs they forward or answer and to the answers they relay, so no
// dialog the pool or its phones take part in (the Call Park application's re-INVITEs,
// REFERs and BYEs, a caller's ACK and BYE) ever needs a name resolved.
func contactByAddress(m interface {
	Contact() *gosip.ContactHeader
	Source() string
}) {
	c := m.Contact()
	if c == nil || net.ParseIP(c.Address.Host) != nil {
		return
	}
	host, port, err := net.SplitHostPort(m.Source())
	if err != nil {
		return
	}
	c.Address.Host = host
	c.Address.Port, _ = strconv.Atoi(port)
}
