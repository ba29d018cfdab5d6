package phone

import (
	"log/slog"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/guard"
)

// guarded runs one of the phone's handlers behind the input guard (sip/internal/guard): a hostile
// request to a simulated phone gets a 400 or a 500, never a crashed test run.
func (ph *Phone) guarded(h sipgo.RequestHandler) sipgo.RequestHandler {
	g := guard.Guard{Agent: ph.user, Log: slog.New(slog.DiscardHandler), PanicLog: slog.Default().With("phone", ph.user), Panics: &ph.panics}
	return func(req *gosip.Request, tx gosip.ServerTransaction) {
		g.Run(req, &guard.Tx{ServerTransaction: tx, Tag: func(res *gosip.Response) { ph.ids.TagResponse(req, res) }}, h)
	}
}
