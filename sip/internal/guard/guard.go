package guard

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync/atomic"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

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

// AnsweredTx is a server transaction that remembers whether a final response left on it,
// statefully or not.
type AnsweredTx interface {
	gosip.ServerTransaction
	Answered() bool
	RespondStateless(res *gosip.Response) error
}

// Guard is what the guard needs of the side (pool or phone) it protects.
type Guard struct {
	Agent    string // the Warning's agent: the pool's FQDN or the phone's user
	Log      *slog.Logger
	PanicLog *slog.Logger   // where panics are logged; nil: Log
	Panics   *atomic.Uint64 // nil: not counted
	// Stopped, when set, reports that the side stopped (a pool's outage): a handler it cut
	// short is not answered, since a stopped pool answers nothing.
	Stopped func() bool
}

// Run handles req with h behind the guard. tx must be the AnsweredTx h will answer on.
func (g Guard) Run(req *gosip.Request, tx AnsweredTx, h func(*gosip.Request, gosip.ServerTransaction)) {
	if req.Method != gosip.ACK {
		if problem := requestProblem(req); problem != "" {
			g.Log.Info("malformed request refused", "method", string(req.Method), "from", req.Source(), "problem", problem)
			g.refuse(req, tx, topology.MalformedRequest(problem))
			return
		}
	} else if req.From() == nil || req.To() == nil || req.CallID() == nil {
		g.Log.Info("malformed ACK dropped", "from", req.Source())
		return // an ACK is never answered
	}
	defer func() {
		p := recover()
		if p == nil {
			if g.Stopped != nil && g.Stopped() {
				return // stopped as it handled the request: silence, as of a pool that is down
			}
			if req.Method != gosip.ACK && !tx.Answered() && !settled(tx) {
				g.Log.Warn("handler left a request unanswered", "method", string(req.Method), "call_id", siputil.CallID(req), "from", req.Source())
				g.refuse(req, tx, topology.HandlerFailed(g.Agent))
			}
			return
		}
		if g.Panics != nil {
			g.Panics.Add(1)
		}
		plog := g.PanicLog
		if plog == nil {
			plog = g.Log
		}
		plog.Error("handler panicked", "method", string(req.Method), "call_id", siputil.CallID(req), "from", req.Source(),
			"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		if req.Method != gosip.ACK && !tx.Answered() {
			g.refuse(req, tx, topology.HandlerFailed(g.Agent))
		}
	}()
	h(req, tx)
}

// refuse answers req statelessly; building or sending the answer must not panic either.
func (g Guard) refuse(req *gosip.Request, tx AnsweredTx, r *topology.Rejection) {
	defer func() {
		if p := recover(); p != nil {
			g.Log.Error("answer to a bad request failed", "panic", fmt.Sprint(p))
		}
	}()
	if err := tx.RespondStateless(lync.Response(req, r, g.Agent)); err != nil {
		g.Log.Debug("answer not sent", "code", r.Code, "err", err)
	}
}

// settled reports whether the transaction has its final answer without the handler: it
// ended, or a CANCEL matched it, which sipgo's transaction layer answers with 487 itself
// (RFC 3261 9.2). A 500 on top would be a second final response to one request.
func settled(tx gosip.ServerTransaction) bool {
	select {
	case <-tx.Done():
		return true
	default:
		return errors.Is(tx.Err(), gosip.ErrTransactionCanceled)
	}
}

// ConnOf returns the connection a server transaction answers on: for TCP and TLS, the
// connection its request came on.
func ConnOf(tx gosip.ServerTransaction) gosip.Connection {
	if c, ok := tx.(interface{ Connection() gosip.Connection }); ok {
		return c.Connection()
	}
	return nil
}

// WriteStateless sends res on the transaction's connection without going through its state
// machine: no retransmission of the response (Timer G), no waiting for the ACK (Timer H).
// sipgo then ends the transaction when the handler returns, since it holds no final
// response, so a refused request leaves nothing behind (RFC 3261 16.11, 8.2.6: a server may
// answer a request it refuses statelessly; a retransmitted request is simply refused again).
func WriteStateless(tx gosip.ServerTransaction, res *gosip.Response) error {
	if c := ConnOf(tx); c != nil {
		return c.WriteMsg(res)
	}
	return tx.Respond(res)
}

// Tx is the AnsweredTx of a side whose handlers answer on the transaction they are given
// (a phone's): it notes the final responses that leave on it.
type Tx struct {
	gosip.ServerTransaction
	// Tag, when set, gives a response the side's own To tag before it leaves (ids.Gen's
	// TagResponse).
	Tag   func(*gosip.Response)
	final atomic.Bool
}

func (t *Tx) Respond(res *gosip.Response) error {
	if t.Tag != nil {
		t.Tag(res)
	}
	if res.StatusCode >= 200 {
		t.final.Store(true)
	}
	return t.ServerTransaction.Respond(res)
}

func (t *Tx) Connection() gosip.Connection { return ConnOf(t.ServerTransaction) }

// Answered reports whether a final response left on the transaction.
func (t *Tx) Answered() bool { return t.final.Load() }

// RespondStateless sends res without the transaction's state machine (WriteStateless).
func (t *Tx) RespondStateless(res *gosip.Response) error {
	if t.Tag != nil {
		t.Tag(res)
	}
	t.final.Store(true)
	return WriteStateless(t.ServerTransaction, res)
}
