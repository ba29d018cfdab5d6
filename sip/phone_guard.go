package sip

import (
	"log/slog"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// guarded runs one of the phone's handlers behind the input guard (guard.go): a hostile
// request to a simulated phone gets a 400 or a 500, never a crashed test run.
func (ph *Phone) guarded(h sipgo.RequestHandler) sipgo.RequestHandler {
	g := guardedHandler{agent: ph.user, log: slog.New(slog.DiscardHandler), panicLog: slog.Default().With("phone", ph.user), panics: &ph.panics}
	return func(req *gosip.Request, tx gosip.ServerTransaction) {
		g.run(req, &guardTx{ServerTransaction: tx}, h)
	}
}
