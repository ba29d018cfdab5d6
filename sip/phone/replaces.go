package phone

import (
	"context"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
)

// An INVITE with Replaces (RFC 3891) that names one of the phone's calls: the new caller
// takes that call's place. The phone accepts it without ringing its user (section 3: the
// replacement is the user's own doing, elsewhere) and then ends the replaced call: a BYE for
// an answered one, a CANCEL for one it is still calling out on. That is how the transferee
// of an attended transfer, and the caller of a call picked up by Replaces, swap calls.

// replacesRefusals are the reason phrases of RFC 3891's refusals.
var replacesRefusals = map[int]string{481: "Call/Transaction Does Not Exist", 486: "Busy Here", 603: "Decline"}

// replacement is what an INVITE's Replaces header asks of the phone.
type replacement struct {
	old  *Call
	code int // a refusal (481, 486, 603), 0 to accept
}

// replaces reads req's Replaces header against the phone's calls (RFC 3891 section 3): no
// such call, or a call ringing in that the phone did not place, 481; one that has ended,
// 603; an answered one when the header says early-only, 486.
func (ph *Phone) replaces(req *gosip.Request) (replacement, bool) {
	h := req.GetHeader("Replaces")
	if h == nil {
		return replacement{}, false
	}
	parts := strings.Split(h.Value(), ";")
	c := ph.call(strings.TrimSpace(parts[0]))
	var tags []string
	earlyOnly := false
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "to-tag", "from-tag":
			tags = append(tags, v)
		case "early-only":
			earlyOnly = true
		}
	}
	if c == nil || !c.hasTags(tags) {
		return replacement{code: 481}, true
	}
	switch st := c.State(); {
	case st >= Failed:
		return replacement{code: 603}, true
	case st == Established && earlyOnly:
		return replacement{code: 486}, true
	case st < Established && !c.Outgoing:
		return replacement{code: 481}, true
	}
	return replacement{old: c}, true
}

// hasTags reports whether tags are the call's two dialog tags, in either order (phones
// differ on which of RFC 3891's to-tag and from-tag is which).
func (c *Call) hasTags(tags []string) bool {
	if len(tags) != 2 {
		return false
	}
	var mine, theirs string
	switch {
	case c.client != nil:
		mine, _ = c.client.InviteRequest.From().Params.Get("tag")
		if res := c.client.InviteResponse; res != nil && res.To() != nil {
			theirs, _ = res.To().Params.Get("tag")
		}
	case c.server != nil:
		// sipgo puts the phone's tag in its copy of the INVITE when it reads it.
		theirs, _ = c.server.InviteRequest.From().Params.Get("tag")
		mine, _ = c.server.InviteRequest.To().Params.Get("tag")
	}
	return (tags[0] == mine && tags[1] == theirs) || (tags[1] == mine && tags[0] == theirs)
}

// takeOver answers c, the call that replaces old, and ends old once c is up.
func (ph *Phone) takeOver(c, old *Call) {
	c.decide(answerChoice{code: 200})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), siputil.TransactionTimeout())
		defer cancel()
		if _, err := c.WaitState(ctx, Established); err != nil {
			return
		}
		if old.State() == Established {
			old.hangUp(ctx, "replaced by "+c.Remote())
			return
		}
		old.Hangup(ctx)
	}()
}
