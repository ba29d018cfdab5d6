package siputil

import (
	"sync"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/ids"
)

// AnsweredDialogs answers INVITEs as dialogs, as sipgo's DialogServerCache does, with the To tag
// of the user agent's id generator (package ids) instead of the UUID sipgo draws: the
// tag every response of the dialog carries and the peer's ACK and BYE name it by. sipgo's
// cache still holds the dialog (under the id it drew), so a session's Close forgets it as
// before; an ACK is looked up there under the drawn tag. With a nil generator it is
// sipgo's cache.
type AnsweredDialogs struct {
	cache *sipgo.DialogServerCache
	gen   *ids.Gen
	drawn sync.Map // our To tag -> the tag sipgo's cache knows the dialog by
}

// NewAnsweredDialogs returns the dialogs of a user agent whose client is cli; contact is the
// Contact of its answers.
func NewAnsweredDialogs(cli *sipgo.Client, contact gosip.ContactHeader, gen *ids.Gen) *AnsweredDialogs {
	return &AnsweredDialogs{cache: sipgo.NewDialogServerCache(cli, contact), gen: gen}
}

// ReadInvite starts the dialog of an INVITE (sipgo's DialogServerCache.ReadInvite).
func (d *AnsweredDialogs) ReadInvite(req *gosip.Request, tx gosip.ServerTransaction) (*sipgo.DialogServerSession, error) {
	sess, err := d.cache.ReadInvite(req, tx)
	if err != nil || d.gen == nil {
		return sess, err
	}
	// The session's INVITE is sipgo's clone of req: nothing has been answered on it yet.
	to := sess.InviteRequest.To()
	drawn := to.Params.GetOr("tag", "")
	mine := d.gen.ToTag(req)
	to.Params.Add("tag", mine)
	id, err := gosip.DialogIDFromRequestUAS(sess.InviteRequest)
	if err != nil {
		return nil, err
	}
	sess.ID = id
	d.drawn.Store(mine, drawn)
	return sess, nil
}

// ReadAck confirms the dialog an ACK belongs to (sipgo's DialogServerCache.ReadAck).
func (d *AnsweredDialogs) ReadAck(req *gosip.Request, tx gosip.ServerTransaction) error {
	if to := req.To(); d.gen != nil && to != nil {
		if drawn, ok := d.drawn.Load(to.Params.GetOr("tag", "")); ok {
			req = req.Clone()
			req.To().Params.Add("tag", drawn.(string))
		}
	}
	return d.cache.ReadAck(req, tx)
}
