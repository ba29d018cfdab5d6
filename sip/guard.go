package sip

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync/atomic"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/topology"
)

// The input guard. Every SIP request a pool or a simulated phone handles is input from the
// network: one malformed datagram must not stop the process. Each handler runs behind
// guard, which
//   - refuses a request that lacks a header RFC 3261 requires (8.1.1, 8.2, 16.3) with a
//     400 naming it, before any handler reads the request;
//   - recovers a panic, logs it with its stack, answers 500 and counts it
//     (Network.HandlerPanics, pickupsim_handler_panics_total);
//   - answers 500 for a request its handler left without a final response, since sipgo
//     ends the transaction when the handler returns and the sender would otherwise
//     retransmit into silence.
//
// Requests without Via or CSeq never get here: sipgo's transaction layer cannot key a
// transaction on them and answers 400 itself (or nothing, without a Via to answer to).

// requestProblem says what makes req unfit for handling, in words for a Warning, or "".
func requestProblem(req *gosip.Request) string {
	switch {
	case req.Via() == nil:
		return "no Via header"
	case req.From() == nil:
		return "no From header"
	case req.To() == nil:
		return "no To header"
	case req.CallID() == nil || strings.TrimSpace(req.CallID().Value()) == "":
		return "no Call-ID header"
	case req.CSeq() == nil:
		return "no CSeq header"
	case req.Recipient.Host == "" && (strings.EqualFold(req.Recipient.Scheme, "sip") || strings.EqualFold(req.Recipient.Scheme, "sips")):
		return "the Request-URI has no host"
	}
	if m := req.CSeq().MethodName; m != req.Method {
		return fmt.Sprintf("the CSeq method %s is not the request's method %s", m, req.Method)
	}
	// RFC 3261 8.1.1.8: a request that can establish a dialog carries a Contact, the
	// address the other party sends its in-dialog requests to.
	if req.Method == gosip.INVITE && req.Contact() == nil {
		return "no Contact header (an INVITE must carry one, RFC 3261 8.1.1.8)"
	}
	return ""
}

// guardCounters counts what the guard caught, for metrics and tests.
type guardCounters struct {
	panics     atomic.Uint64
	dnsLookups atomic.Uint64 // refused name lookups (nodns.go)
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

// answeredTx is a server transaction that remembers whether a final response left on it,
// statefully or not.
type answeredTx interface {
	gosip.ServerTransaction
	answered() bool
	respondStateless(res *gosip.Response) error
}

// guardedHandler is what guard needs of the side (pool or phone) it protects.
type guardedHandler struct {
	agent    string // the Warning's agent: the pool's FQDN or the phone's user
	log      *slog.Logger
	panicLog *slog.Logger   // where panics are logged; nil: log
	panics   *atomic.Uint64 // nil: not counted
}

// guard is the input guard of a pool's handlers.
func (rt *runtime) guard() guardedHandler {
	return guardedHandler{agent: rt.pool.fqdn, log: rt.pool.log, panics: &rt.pool.net.guards.panics}
}

// run handles req with h behind the guard. tx must be the answeredTx h will answer on.
func (g guardedHandler) run(req *gosip.Request, tx answeredTx, h func(*gosip.Request, gosip.ServerTransaction)) {
	if req.Method != gosip.ACK {
		if problem := requestProblem(req); problem != "" {
			g.log.Info("malformed request refused", "method", string(req.Method), "from", req.Source(), "problem", problem)
			g.refuse(req, tx, topology.MalformedRequest(problem))
			return
		}
	} else if req.From() == nil || req.To() == nil || req.CallID() == nil {
		g.log.Info("malformed ACK dropped", "from", req.Source())
		return // an ACK is never answered
	}
	defer func() {
		p := recover()
		if p == nil {
			if req.Method != gosip.ACK && !tx.answered() && !isDone(tx) {
				g.log.Warn("handler left a request unanswered", "method", string(req.Method), "call_id", callID(req), "from", req.Source())
				g.refuse(req, tx, topology.HandlerFailed(g.agent))
			}
			return
		}
		if g.panics != nil {
			g.panics.Add(1)
		}
		plog := g.panicLog
		if plog == nil {
			plog = g.log
		}
		plog.Error("handler panicked", "method", string(req.Method), "call_id", callID(req), "from", req.Source(),
			"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		if req.Method != gosip.ACK && !tx.answered() {
			g.refuse(req, tx, topology.HandlerFailed(g.agent))
		}
	}()
	h(req, tx)
}

// refuse answers req statelessly; building or sending the answer must not panic either.
func (g guardedHandler) refuse(req *gosip.Request, tx answeredTx, r *topology.Rejection) {
	defer func() {
		if p := recover(); p != nil {
			g.log.Error("answer to a bad request failed", "panic", fmt.Sprint(p))
		}
	}()
	if err := tx.respondStateless(rejectionResponse(req, r, g.agent)); err != nil {
		g.log.Debug("answer not sent", "code", r.Code, "err", err)
	}
}

func isDone(tx gosip.ServerTransaction) bool {
	select {
	case <-tx.Done():
		return true
	default:
		return false
	}
}

// connOf returns the connection a server transaction answers on: for TCP and TLS, the
// connection its request came on.
func connOf(tx gosip.ServerTransaction) gosip.Connection {
	if c, ok := tx.(interface{ Connection() gosip.Connection }); ok {
		return c.Connection()
	}
	return nil
}

// writeStateless sends res on the transaction's connection without going through its state
// machine: no retransmission of the response (Timer G), no waiting for the ACK (Timer H).
// sipgo then ends the transaction when the handler returns, since it holds no final
// response, so a refused request leaves nothing behind (RFC 3261 16.11, 8.2.6: a server may
// answer a request it refuses statelessly; a retransmitted request is simply refused again).
func writeStateless(tx gosip.ServerTransaction, res *gosip.Response) error {
	if c := connOf(tx); c != nil {
		return c.WriteMsg(res)
	}
	return tx.Respond(res)
}

// guardTx is the answeredTx of a phone's handlers.
type guardTx struct {
	gosip.ServerTransaction
	final atomic.Bool
}

func (t *guardTx) Respond(res *gosip.Response) error {
	if res.StatusCode >= 200 {
		t.final.Store(true)
	}
	return t.ServerTransaction.Respond(res)
}

func (t *guardTx) Connection() gosip.Connection { return connOf(t.ServerTransaction) }

func (t *guardTx) answered() bool { return t.final.Load() }

func (t *guardTx) respondStateless(res *gosip.Response) error {
	t.final.Store(true)
	return writeStateless(t.ServerTransaction, res)
}

// Nil-safe readers of the headers a hostile message may lack. The guard keeps requests
// without From, To or Contact away from the pools' handlers, but responses (a phone's
// answer relayed or read by a pool, a pool's answer read by a phone) are read without it.

// fromUser returns the user part of a message's From, or "".
func fromUser(m interface{ From() *gosip.FromHeader }) string {
	if h := m.From(); h != nil {
		return h.Address.User
	}
	return ""
}

// toUser returns the user part of a message's To, or "".
func toUser(m interface{ To() *gosip.ToHeader }) string {
	if h := m.To(); h != nil {
		return h.Address.User
	}
	return ""
}
