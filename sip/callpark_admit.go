package sip

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/media"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Who may park, and where (SPEC section 4; park/conversations.go says why).
//
// A park request is the parkee's INVITE to sip:park@<domain> (through its own pool, its
// outbound proxy) or sip:park@<a pool's address>. The pool it reaches identifies the
// sender like any caller (source-bound registration, digest for users with a password,
// or an outside address), takes the parker from the conversation it proxied between the
// two, and sends the request on to the pool that serves the parker when that is another
// one: the pool that serves the parker parks. That pool checks the conversation in its
// own memory too. Referred-By and X-Parked-Call only choose among the parkee's
// conversations.

// Conversation memory: how many answered calls a pool remembers, and for how long (a
// choice; Lync keeps its dialogs for as long as they last).
const (
	conversationMemory = 10000
	conversationMaxAge = 12 * time.Hour
)

// isParkRequest reports whether an INVITE asks for the Call Park application: its
// Request-URI is park@ this pool, the enterprise domain, or another pool of the topology.
func (rt *runtime) isParkRequest(req *gosip.Request) bool {
	u := req.Recipient
	if !strings.EqualFold(u.User, lync.ParkUser) {
		return false
	}
	dep := rt.pool.dep
	if rt.isMe(u) || strings.EqualFold(u.Host, dep.Domain()) {
		return true
	}
	if _, ok := dep.peer(strings.ToLower(u.Host)); ok {
		return true
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	_, ok := dep.peerAt(net.JoinHostPort(u.Host, strconv.Itoa(port)))
	return ok
}

// park takes a park request: who sent it, which of its conversations it parks, who the
// parker is, and which pool parks.
func (rt *runtime) park(req *gosip.Request, tx gosip.ServerTransaction) {
	pk := rt.parking
	dep := rt.pool.dep
	fromPeer := rt.fromPeer(req)
	if !fromPeer { // a peer pool has admitted the request already
		if r := pk.limit.admit(req.Source(), dep.Clock().Now()); r != nil {
			rt.respond(tx, req, r)
			return
		}
	}
	caller, ok := rt.identify(req, tx)
	if !ok {
		return // challenged
	}
	parkee := rt.partyOf(req, caller)
	hint := rt.parkHint(req, fromPeer)
	pk.mu.Lock()
	conv, err := pk.talks.Find(parkee, hint, dep.Clock().Now())
	pk.mu.Unlock()
	if err != nil {
		rt.respond(tx, req, topology.NoConversationToPark(err))
		return
	}
	parker, _ := conv.Other(parkee)
	offer, offerErr := media.ParseAudio(req.Body())
	ask := topology.ParkRequest{Parker: parker, FromPeer: fromPeer, Media: offer.Addr.Addr(), OfferErr: offerErr, Source: sourceHost(req)}
	adm := dep.admitPark(rt.pool.fqdn, ask)
	if adm.Kind == topology.ParkRefused {
		rt.respond(tx, req, adm.Reject)
		return
	}
	if adm.Kind == topology.ParkElsewhere {
		rt.parkAt(req, tx, caller, adm.Pool, conv)
		return
	}
	rt.parkHere(req, tx, parkRequest{conv: conv, parker: parker, parkee: parkee, offer: offer, adm: adm})
}

// parkAt sends a park request on to the pool that serves the parker, naming the
// conversation this pool found (peer pools trust it from this pool's address alone).
func (rt *runtime) parkAt(req *gosip.Request, tx gosip.ServerTransaction, caller topology.Caller, pool string, conv park.Conversation) {
	peer, ok := rt.pool.dep.peer(pool)
	if !ok || peer.addr == "" {
		rt.respond(tx, req, topology.PoolNotAnswering(pool))
		return
	}
	for req.RemoveHeader(lync.HeaderParkedCall) {
	}
	req.AppendHeader(gosip.NewHeader(lync.HeaderParkedCall, url.QueryEscape(conv.CallID)))
	rt.log("park sent on to the parker's pool", req, "pool", pool, "conversation", conv.CallID)
	rt.forward(req, tx, caller, target{uri: req.Recipient, addr: peer.addr, transport: "udp"}, nil)
}

// partyOf is the sender of a request as this pool established it: an enterprise user, or
// an outside party known by the address its request came from.
func (rt *runtime) partyOf(req *gosip.Request, caller topology.Caller) park.Party {
	if caller.Enterprise() {
		return park.Party{User: caller.User}
	}
	p := park.Party{Addr: req.Source()}
	if f := req.From(); f != nil {
		p.Name = f.Address.String()
	}
	return p
}

// parkHint reads what a park request says about the conversation it parks: its Call-ID
// (X-Parked-Call) and the enterprise user who referred the parkee (Referred-By; a referrer
// from outside the enterprise names no user). From a peer pool, X-Parked-Call is the
// conversation that pool found, and the only hint.
func (rt *runtime) parkHint(req *gosip.Request, fromPeer bool) park.Hint {
	var h park.Hint
	if v := req.GetHeader(lync.HeaderParkedCall); v != nil {
		if id, err := url.QueryUnescape(v.Value()); err == nil {
			h.CallID = strings.TrimSpace(id)
		}
	}
	if fromPeer {
		return h
	}
	if by := req.GetHeader("Referred-By"); by != nil {
		if u, ok := uriOf(by.Value()); ok && strings.EqualFold(u.Host, rt.pool.dep.Domain()) {
			h.Parker = u.User
		}
	}
	return h
}

// uriOf reads the URI of a name-addr header value ("Name" <sip:u@h>;params, or a bare URI).
func uriOf(v string) (gosip.Uri, bool) {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			v = v[i+1 : i+j]
		}
	}
	var u gosip.Uri
	if err := gosip.ParseUri(strings.TrimSpace(v), &u); err != nil {
		return gosip.Uri{}, false
	}
	return u, true
}

// sourceHost is the IP address a request came from.
func sourceHost(req *gosip.Request) netip.Addr {
	host, _, _ := net.SplitHostPort(req.Source())
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// rememberAnswer records a call this pool proxied to its answer, for Call Park to find
// parkers by. forward calls it with every final response it relays upstream.
func (rt *runtime) rememberAnswer(req *gosip.Request, res *gosip.Response, caller topology.Caller) {
	if !res.IsSuccess() || req.Method != gosip.INVITE {
		return
	}
	callee := topology.Dialled(req.Recipient.User)
	if _, ok := rt.pool.dep.User(callee); !ok {
		return // an orbit, a pickup number, a park request: no conversation between two parties
	}
	c := park.Conversation{CallID: siputil.CallID(req), Caller: rt.partyOf(req, caller), Callee: park.Party{User: callee},
		Answered: rt.pool.dep.Clock().Now()}
	if f := req.From(); f != nil {
		c.FromTag, _ = f.Params.Get("tag")
	}
	if to := res.To(); to != nil {
		c.ToTag, _ = to.Params.Get("tag")
	}
	pk := rt.parking
	pk.mu.Lock()
	pk.talks.Add(c, c.Answered)
	pk.mu.Unlock()
}
