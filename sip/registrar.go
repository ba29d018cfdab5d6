package sip

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/guard"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// defaultExpires is the registration lifetime granted when a phone asks for none.
const defaultExpires = 3600

// binding is one registration: where to reach a user, and where its requests come from.
type binding struct {
	user      string
	contact   gosip.Uri
	source    string           // "ip:port" the REGISTER came from
	transport string           // udp, tcp or tls
	conn      gosip.Connection // the TCP or TLS connection it came on; nil over UDP
	mode      topology.Mode
	expires   time.Time
	callID    string // the REGISTER's Call-ID and CSeq, to order refreshes (registrar_refresh.go)
	cseq      uint32
}

// onRegister is the registrar. Whether this pool may take the user, and in which mode, is
// the deployment model's decision (home pool, backup registrar after the failover timer,
// resiliency mode); the answer carries Lync's presence-state header so the phone can read
// its mode off the wire.
func (rt *runtime) onRegister(req *gosip.Request, tx gosip.ServerTransaction) {
	p := rt.pool
	user := siputil.ToUser(req)
	if user == "" {
		rt.refuse(tx, req, topology.MalformedRequest("the To header names no user"))
		return
	}
	if res := rt.retransmittedRegister(req, user); res != nil {
		sendStateless(tx, res)
		return
	}
	if !rt.authenticate(req, tx, user) {
		return
	}
	expires := requestedExpires(req)
	if !strings.EqualFold(req.Transport(), "udp") && expires > int(maxTCPRegistration/time.Second) {
		// transport.go: the phone re-registers, and so speaks on its connection, before
		// the connection's idle timeout closes it.
		expires = int(maxTCPRegistration / time.Second)
	}
	now := p.dep.Clock().Now()
	d := p.dep.register(p.fqdn, user)
	if !d.Accept {
		res := lync.Response(req, d.Reject, p.fqdn)
		if d.Redirect != "" {
			if to, ok := p.dep.peer(d.Redirect); ok {
				host, port, _ := net.SplitHostPort(to.addr)
				pn, _ := strconv.Atoi(port)
				res.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", Host: host, Port: pn}})
			}
		}
		rt.log("REGISTER refused", req, "user", user, "code", res.StatusCode)
		sendStateless(tx, res) // relay.go: unknown users leave nothing behind
		return
	}
	contact := req.Contact()
	if contact == nil && expires > 0 {
		rt.refuse(tx, req, topology.MalformedRequest("REGISTER has no Contact"))
		return
	}
	rt.mu.Lock()
	if r := staleRefresh(rt.bindings[user], req); r != nil {
		rt.mu.Unlock()
		rt.respond(tx, req, r)
		return
	}
	if expires == 0 {
		delete(rt.bindings, user)
	} else {
		b := binding{
			user:      user,
			contact:   *contact.Address.Clone(),
			source:    req.Source(),
			transport: strings.ToLower(req.Transport()),
			mode:      d.Mode,
			expires:   now.Add(time.Duration(expires) * time.Second),
			callID:    siputil.CallID(req),
			cseq:      req.CSeq().SeqNo,
		}
		if b.transport != "udp" {
			b.conn = guard.ConnOf(tx)
		}
		rt.bindings[user] = b
	}
	rt.mu.Unlock()
	rt.log("REGISTER accepted", req, "user", user, "mode", d.Mode.String(), "expires", expires)
	// Stateless, as Kamailio's registrar answers: a UDP server transaction would keep about
	// 4 KB for Timer J's 32 s, 330 MB in an 80,000-user storm (issue 14). A retransmission
	// is recognised by retransmittedRegister instead, and answered the same.
	sendStateless(tx, registered(req, contact, expires, d.Mode))
}

// registered is the 200 OK to a REGISTER that bound contact for expires seconds in mode.
func registered(req *gosip.Request, contact *gosip.ContactHeader, expires int, mode topology.Mode) *gosip.Response {
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	if contact != nil {
		c := contact.Clone()
		c.Params.Remove("expires")
		c.Params.Add("expires", strconv.Itoa(expires))
		res.AppendHeader(c)
	}
	res.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(expires)))
	res.AppendHeader(lync.PresenceState(mode))
	return res
}

// retransmittedRegister answers a retransmission of the REGISTER that made user's binding
// (its 200 was lost): the same Call-ID and CSeq, from the same address and transport, for
// the same Contact. It is answered as before and changes nothing; the transaction layer
// would have absorbed it had the 200 been sent statefully (RFC 3261 17.2.2). Anything else
// goes on to authentication and staleRefresh.
func (rt *runtime) retransmittedRegister(req *gosip.Request, user string) *gosip.Response {
	cs, contact := req.CSeq(), req.Contact()
	if cs == nil || contact == nil {
		return nil
	}
	rt.mu.Lock()
	b, ok := rt.bindings[user]
	rt.mu.Unlock()
	if !ok || b.callID != siputil.CallID(req) || b.cseq != cs.SeqNo || b.source != req.Source() ||
		b.transport != strings.ToLower(req.Transport()) || b.contact.String() != contact.Address.String() {
		return nil
	}
	left := int((b.expires.Sub(rt.pool.dep.Clock().Now()) + time.Second - 1) / time.Second)
	if left <= 0 {
		return nil
	}
	return registered(req, contact, left, b.mode)
}

func requestedExpires(req *gosip.Request) int {
	if c := req.Contact(); c != nil {
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				return n
			}
		}
	}
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			return n
		}
	}
	return defaultExpires
}

// lookup returns a user's live registration at this pool.
func (rt *runtime) lookup(user string) (binding, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	b, ok := rt.bindings[user]
	if ok && rt.pool.dep.Clock().Now().After(b.expires) {
		delete(rt.bindings, user)
		return binding{}, false
	}
	return b, ok
}

// Registered returns the users registered on the pool now, with the mode the pool serves
// each in now (the Mode of Bindings, without building each binding's text or sorting: the
// change log and metrics ask for it at every user of a storm).
func (p *Pool) Registered() map[string]topology.Mode {
	rt := p.runtime()
	if rt == nil {
		return map[string]topology.Mode{}
	}
	now := p.dep.Clock().Now()
	rt.mu.Lock()
	out := make(map[string]topology.Mode, len(rt.bindings))
	for u, b := range rt.bindings {
		if !now.After(b.expires) {
			out[u] = b.mode
		}
	}
	rt.mu.Unlock()
	for u := range out { // the model is asked outside rt.mu, as in Bindings
		if d := p.dep.register(p.fqdn, u); d.Accept {
			out[u] = d.Mode
		}
	}
	return out
}

// BoundMode returns the mode user's live registration at this pool was given when its
// registrar last answered it (the presence-state of that 200 OK), without asking the model
// again: cheap enough to ask after every REGISTER of a storm. Registered gives the mode
// the pool serves the user in now, which a completed failover may have changed since.
func (p *Pool) BoundMode(user string) (topology.Mode, bool) {
	rt := p.runtime()
	if rt == nil {
		return 0, false
	}
	b, ok := rt.lookup(user)
	return b.mode, ok
}

// registeredMode is Registered for one user.
func (p *Pool) registeredMode(user string) (topology.Mode, bool) {
	rt := p.runtime()
	if rt == nil {
		return 0, false
	}
	b, ok := rt.lookup(user)
	if !ok {
		return 0, false
	}
	if d := p.dep.register(p.fqdn, user); d.Accept {
		return d.Mode, true
	}
	return b.mode, true
}

func (rt *runtime) respond(tx gosip.ServerTransaction, req *gosip.Request, r *topology.Rejection) {
	res := lync.Response(req, r, rt.pool.fqdn)
	rt.log("rejected", req, "code", r.Code, "warning", r.Warning, "diagnostic", r.Diagnostic)
	tx.Respond(res)
}

func (rt *runtime) log(msg string, req *gosip.Request, args ...any) {
	if !rt.pool.log.Enabled(context.Background(), slog.LevelInfo) {
		return // serve --log-level error: no line, and none of its fields built (a storm's every REGISTER)
	}
	args = append([]any{"method", string(req.Method), "call_id", siputil.CallID(req), "from", req.Source()}, args...)
	rt.pool.log.Info(msg, args...)
}
