package sip

import (
	"sync/atomic"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/pickup"
	"github.com/pickupsim/pickupsim/sip/internal/guard"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// ChangeKind says what a Change reports.
type ChangeKind string

// The kinds of change a Network reports to its observers.
const (
	// ChangeResponse: a pool sent a final response (2xx to 6xx) to a request.
	ChangeResponse ChangeKind = "response"
	// ChangePhase: a disaster-recovery event moved a pool to another phase.
	ChangePhase ChangeKind = "phase"
	// ChangeConfig: the administrator changed the orbit table, pickup groups or CPS settings.
	ChangeConfig ChangeKind = "config"
	// ChangeNotify: a pool sent a busy lamp's NOTIFY; Code is the subscriber's answer (0: none),
	// User the subscriber and Detail what it watches (blf_notify.go).
	ChangeNotify ChangeKind = "notify"
)

// Change is one thing that happened in a Network, for status pages and metrics. It is a
// report, not a decision: observers cannot alter what the pool does.
type Change struct {
	Kind ChangeKind
	Pool string
	// Response fields: the request's method, the response's code, and what the pool put in
	// its Warning and ms-diagnostics headers.
	Method     string
	Code       int
	Warning    string
	Diagnostic int
	// User is the To user of a REGISTER, Dialled the Request-URI user of an INVITE.
	User    string
	Dialled string
	// FromPhone is true when the request came from a phone rather than a peer pool, so a
	// call relayed by two pools is counted once.
	FromPhone bool
	// InDialog is true for a request inside a dialog (its To has a tag).
	InDialog bool
	// Pickup is true for an INVITE that dials a Group Call Pickup number.
	Pickup bool
	// Directed says how an INVITE picks up the call ringing one user: "code" (the directed
	// pickup prefix and the user's name) or "replaces" (Replaces with early-only: RFC 3891's
	// pickup of an early dialog, not an attended transfer); "" for anything else.
	Directed string
	// Detail describes a phase or configuration change in words.
	Detail string
}

// OnChange registers f to be called for every change, until the returned function is
// called. f runs synchronously on the goroutine that made the change (a SIP handler or a
// cmdlet), never under the network's locks: it must return quickly and must not block.
func (n *Network) OnChange(f func(Change)) (cancel func()) { return n.changes.add(f) }

// NotifyConfigChanged reports an administrator's change made outside the SIP network
// (through Network's cmdlet methods), so observers refresh.
func (n *Network) NotifyConfigChanged(detail string) {
	n.emit(Change{Kind: ChangeConfig, Detail: detail})
}

func (n *Network) emit(c Change) { n.changes.run(c) }

// observe wraps a SIP handler so that it runs behind the input guard (sip/internal/guard) and every
// final response it sends is reported.
func (rt *runtime) observe(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *gosip.Request, tx gosip.ServerTransaction) {
		rt.guard().Run(req, &observedTx{ServerTransaction: tx, rt: rt, req: req}, h)
	}
}

// observedTx is a server transaction that reports the final responses sent on it.
type observedTx struct {
	gosip.ServerTransaction
	rt    *runtime
	req   *gosip.Request
	final atomic.Bool
}

// Respond sends res and reports it when final.
func (o *observedTx) Respond(res *gosip.Response) error {
	o.rt.lamps.flush() // the lamps show what led to this response before it goes (blf_lamps.go)
	o.rt.pool.ids.TagResponse(o.req, res)
	if o.req.Method == gosip.INVITE {
		o.rt.dialogs.answered(o.req, res) // the caller's busy lamp (blf_dialogs.go)
		if res.IsSuccess() {
			o.rt.accepted.remember(o.req, res, o.rt.pool.dep.Clock().Now()) // a CANCEL that crosses it gets 200 (accepted.go)
		}
	}
	err := o.ServerTransaction.Respond(res)
	if res.StatusCode >= 200 {
		o.final.Store(true)
		o.rt.pool.dep.emit(o.rt.responseChange(o.req, res))
	}
	return err
}

// RespondStateless sends a final res without keeping the transaction (guard.WriteStateless),
// and reports it.
func (o *observedTx) RespondStateless(res *gosip.Response) error {
	o.rt.lamps.flush()
	o.rt.pool.ids.TagResponse(o.req, res)
	if o.req.Method == gosip.INVITE {
		o.rt.dialogs.answered(o.req, res)
	}
	o.final.Store(true)
	err := guard.WriteStateless(o.ServerTransaction, res)
	o.rt.pool.dep.emit(o.rt.responseChange(o.req, res))
	return err
}

// Answered reports whether a final response left on the transaction.
func (o *observedTx) Answered() bool { return o.final.Load() }

// Connection is the connection the request came on (its TCP or TLS connection).
func (o *observedTx) Connection() gosip.Connection { return guard.ConnOf(o.ServerTransaction) }

func (rt *runtime) responseChange(req *gosip.Request, res *gosip.Response) Change {
	_, fromPool := rt.peerPool(req)
	c := Change{Kind: ChangeResponse, Pool: rt.pool.fqdn, Method: string(req.Method), Code: res.StatusCode,
		FromPhone: !fromPool}
	if to := req.To(); to != nil {
		_, c.InDialog = to.Params.Get("tag")
	}
	o := lync.OutcomeOf(res)
	c.Warning, c.Diagnostic = o.Warning, o.Diagnostic
	switch req.Method {
	case gosip.REGISTER:
		if to := req.To(); to != nil {
			c.User = to.Address.User
		}
	case gosip.INVITE:
		c.Dialled = topology.Dialled(req.Recipient.User)
		r, ok := rt.pool.dep.lookupOrbit(c.Dialled)
		c.Pickup = ok && r.Type == park.GroupPickup
		c.Directed = rt.directedKind(req, c.Dialled) // pickup_directed.go
	}
	return c
}

// ActiveCalls returns how many calls the pool's Call Park application bridges now
// (picked-up, retrieved and rung-back calls); calls proxied phone to phone are not held by
// any pool.
func (p *Pool) ActiveCalls() int {
	rt := p.runtime()
	if rt == nil {
		return 0
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return len(rt.bridges) / 2
}

// Queued returns the calls in the pool's Group Call Pickup queues, by number, longest
// ringing first.
func (p *Pool) Queued() map[string][]pickup.Call {
	out := map[string][]pickup.Call{}
	rt := p.runtime()
	if rt == nil {
		return out
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, number := range rt.queues.Numbers() {
		out[number] = rt.queues.Calls(number)
	}
	return out
}
