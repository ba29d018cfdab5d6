package ids

import (
	"context"
	"strconv"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// sipgo draws its own identifiers where a request or response lacks one: a Call-ID and
// a CSeq (clientRequestBuildReq), a Via branch for every request a Client sends
// (ClientRequestAddVia), a To tag for a response to a request without one
// (sip.NewResponseFromRequest) and for a dialog it answers (DialogUA.ReadInvite), all
// from math/rand or google/uuid, process-wide streams no option reaches. The simulator
// gives it its own instead: Call-IDs, tags and CSeqs in the requests it builds, the branch
// in Requester, the To tag in TagResponse and in the dialogs siputil.Dialogs answers.
// What sipgo still sends on its own, the 487 that ends a CANCELled INVITE and the 200 to
// the CANCEL, carries a UUID To tag drawn at random: a replay's recorder names those
// (scenarios/runner).

// CallID returns the Call-ID of the owner's next dialog or registration of a kind.
func (g *Gen) CallID(kind string) string { return g.Next(kind) }

// Tag returns a new From tag for the owner's next request of a kind.
func (g *Gen) Tag(kind string) string { return g.Next(kind + "-tag") }

// CSeq returns the first CSeq number of a new Call-ID: below 2^15, as sipgo's are.
func (g *Gen) CSeq(callID string) uint32 { return g.Uint32("cseq", callID)&0x7fff + 1 }

// SDPSession returns the SDP session id (o= line, RFC 4566 §5.2) of an offer or answer in
// a call, below 2^63 as the RFC's NTP-format suggestion keeps it.
func (g *Gen) SDPSession(callID string, parts ...string) uint64 {
	return g.Uint64(append([]string{"sdp", callID}, parts...)...) >> 1
}

// Branch returns the Via branch of a request this owner sends: a hash of what tells the
// request from every other it sends (Call-ID, CSeq, Request-URI, destination, tags, and
// the branch of the request it forwards, if any), behind RFC 3261's magic cookie.
func (g *Gen) Branch(req *gosip.Request) string {
	parts := []string{"branch", string(req.Method), g.src.Symbolic(req.Recipient.String()), g.src.Symbolic(req.Destination())}
	if cid := req.CallID(); cid != nil {
		parts = append(parts, cid.Value())
	}
	if cs := req.CSeq(); cs != nil {
		parts = append(parts, strconv.FormatUint(uint64(cs.SeqNo), 10), string(cs.MethodName))
	}
	if f := req.From(); f != nil {
		parts = append(parts, f.Params.GetOr("tag", ""))
	}
	if t := req.To(); t != nil {
		parts = append(parts, t.Params.GetOr("tag", ""))
	}
	if vias := req.GetHeaders("Via"); len(vias) > 1 {
		if v, ok := vias[1].(*gosip.ViaHeader); ok {
			parts = append(parts, v.Params.GetOr("branch", ""))
		}
	}
	return gosip.RFC3261BranchMagicCookie + g.Token(parts...)
}

// ToTag returns the To tag this owner answers a request without one with: the same for
// every response to the request and to a CANCEL of it (RFC 3261 §8.2.6.2, §9.2).
func (g *Gen) ToTag(req *gosip.Request) string {
	var cid, from, seq string
	if c := req.CallID(); c != nil {
		cid = c.Value()
	}
	if f := req.From(); f != nil {
		from = f.Params.GetOr("tag", "")
	}
	if cs := req.CSeq(); cs != nil {
		seq = strconv.FormatUint(uint64(cs.SeqNo), 10)
	}
	return g.Token("to-tag", cid, from, seq)
}

// TagResponse gives res, a response of this owner to req, the owner's To tag where
// sipgo's sip.NewResponseFromRequest drew a UUID: a response to a request without a To
// tag, other than 100 Trying (RFC 3261 §8.2.6.2). A tag that is not a UUID is left alone:
// a pool relays the tag of the phone that answered. A nil Gen leaves sipgo's.
func (g *Gen) TagResponse(req *gosip.Request, res *gosip.Response) {
	if g == nil || res.StatusCode == 100 {
		return
	}
	if to := req.To(); to == nil || to.Params.Has("tag") {
		return
	}
	to := res.To()
	if to == nil {
		return
	}
	if tag, ok := to.Params.Get("tag"); ok && !IsUUID(tag) {
		return
	}
	to.Params.Add("tag", g.ToTag(req))
}

// IsUUID reports whether s has the form of a UUID (8-4-4-4-12 hex digits): how sipgo's
// own tags look, and the simulator's never do.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// Install makes cli give every request it sends (through any of sipgo's paths: Do,
// TransactionRequest, WriteRequest, the dialog sessions) the Via branch g derives from
// the request, replacing sipgo's random one before a transaction is keyed on it. A CANCEL
// keeps the branch of the INVITE it cancels (RFC 3261 §9.1). A nil Gen changes nothing.
func Install(cli *sipgo.Client, g *Gen) {
	if g == nil {
		return
	}
	cli.TxRequester = requester{g: g, ua: cli.UserAgent}
}

// requester is the Client's transaction requester: sipgo's transaction layer (transport
// layer for an ACK), once the branch is set.
type requester struct {
	g  *Gen
	ua *sipgo.UserAgent
}

func (r requester) Request(ctx context.Context, req *gosip.Request) (gosip.ClientTransaction, error) {
	if via := req.Via(); via != nil && req.Method != gosip.CANCEL {
		via.Params.Add("branch", r.g.Branch(req))
	}
	if req.IsAck() {
		return nil, r.ua.TransportLayer().WriteMsg(req)
	}
	return r.ua.TransactionLayer().Request(ctx, req)
}
