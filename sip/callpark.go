package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/media"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Call Park (SPEC section 4) on the Call Park application of a pool.
//
// Park is a blind transfer: the parker REFERs the other party (the parkee) to
// sip:park@<domain> (or a pool's address); the parkee INVITEs that URI, and the Call Park
// application of the pool that serves the parker answers it with music on hold and the
// orbit in an X-Park-Orbit header, which the parkee may relay to the parker in its NOTIFY
// sipfrag. Pools do not Record-Route, so the REFER goes phone to phone and the parker
// never talks to the Call Park application: the parker is found from the conversation the
// pools proxied between the two (callpark_admit.go). Retrieval and ring-back re-INVITE
// the parkee with the other party's SDP, so media flows phone to phone.

const (
	// RingBackTimeout is how long a ring-back rings the parker before it counts as
	// unanswered (a choice: Lync does not document it), on the network's clock.
	RingBackTimeout = 30 * time.Second
)

// mohHz is the music on hold: a 400 Hz tone, a whole number of periods per packet.
const mohHz = 400

// parking is the Call Park application's parking lot on one pool, with the SIP legs of
// the calls it holds. An outage loses all of it.
type parking struct {
	rt  *runtime
	out *sipgo.DialogClientCache // ring-back legs

	limit *sourceLimiter // park requests per source (callpark_limit.go)

	mu     sync.Mutex
	lot    *park.Lot
	talks  *park.Conversations  // calls this pool proxied to their answer (callpark_admit.go)
	held   map[uint64]*heldCall // by park ID, while on an orbit
	byLeg  map[string]*heldCall // parkee leg Call-ID, while held or being forwarded
	closed bool
	// onRingBackAnswered, when set by a test, runs once a ring-back's answer is bridged,
	// before the parkee is re-INVITEd: the window where either party may hang up.
	onRingBackAnswered func()
}

// heldCall is the SIP side of a parked call.
type heldCall struct {
	p      park.Parked
	parkee *sipgo.DialogServerSession
	offer  []byte // the parkee's SDP offer
	moh    *media.Stream
	timer  clock.Timer
	ring   context.CancelFunc // stops a ring-back in progress
}

func newParking(rt *runtime) *parking {
	// rt.pool.mu is held while a runtime starts: take the address from the listener.
	host, pn := rt.laddr.IP.String(), rt.laddr.Port
	pk := &parking{
		rt:    rt,
		out:   sipgo.NewDialogClientCache(rt.cli, gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "cps", Host: host, Port: pn}}),
		limit: newSourceLimiter(),
		lot:   park.NewLot(nil),
		talks: park.NewConversations(conversationMemory, conversationMaxAge),
		held:  map[uint64]*heldCall{},
		byLeg: map[string]*heldCall{},
	}
	context.AfterFunc(rt.ctx, pk.shutdown)
	return pk
}

// shutdown is the pool's outage: parked calls are lost with it (their timers stop and
// music on hold goes silent; the parkees learn only when their BYE goes unanswered).
func (pk *parking) shutdown() {
	pk.mu.Lock()
	pk.closed = true
	held := pk.held
	legs := pk.byLeg // also those being transferred, whose music plays until then
	pk.held = map[uint64]*heldCall{}
	pk.byLeg = map[string]*heldCall{}
	pk.lot = park.NewLot(nil)
	pk.mu.Unlock()
	for _, h := range held {
		h.release()
	}
	for _, h := range legs {
		h.moh.Close()
	}
}

// release stops what a held call runs: its timer, ring-back and music.
func (h *heldCall) release() {
	if h.timer != nil {
		h.timer.Stop()
	}
	if h.ring != nil {
		h.ring()
	}
	h.moh.Close()
}

// parkRequest is a park request the deployment admitted here.
type parkRequest struct {
	conv           park.Conversation // the conversation parked
	parker, parkee park.Party
	offer          media.Audio // the parkee's SDP offer, checked
	adm            topology.ParkAdmission
}

// parkHere answers a parkee's INVITE to the Call Park application: it takes an orbit,
// answers with music on hold and the orbit, and starts the ring-back timer.
func (rt *runtime) parkHere(req *gosip.Request, tx gosip.ServerTransaction, r parkRequest) {
	pk := rt.parking
	cfg := r.adm.CPS
	moh, answer, err := rt.musicOnHold(req, r.offer, cfg.EnableMusicOnHold)
	if err != nil {
		rt.respond(tx, req, topology.BadParkOffer(err))
		return
	}
	parkee := partyName(r.parkee)
	now := rt.pool.dep.Clock().Now()
	pk.mu.Lock()
	if pk.closed {
		pk.mu.Unlock()
		moh.Close()
		return
	}
	pk.lot.SetOrbits(r.adm.Orbits)
	p, err := pk.lot.Park(park.ParkRequest{Key: r.conv.CallID, Parker: r.parker.User, Parkee: parkee, ParkedBefore: r.conv.Parked}, cfg, now)
	if err != nil {
		pk.mu.Unlock()
		moh.Close()
		rt.respond(tx, req, topology.ParkLotRefusal(err))
		return
	}
	leg, err := rt.cps.ReadInvite(req, tx)
	if err != nil {
		pk.lot.Leave(p.Orbit, p.ID)
		pk.mu.Unlock()
		moh.Close()
		return
	}
	pk.talks.MarkParked(r.conv.CallID)
	h := &heldCall{p: p, parkee: leg, offer: req.Body(), moh: moh}
	pk.held[p.ID] = h
	pk.byLeg[siputil.CallID(req)] = h
	h.timer = pk.schedule(p, cfg.CallPickupTimeoutThreshold)
	pk.mu.Unlock()
	rt.log("parked", req, "parker", r.parker.User, "parkee", parkee, "conversation", r.conv.CallID, "orbit", p.Orbit)
	err = leg.Respond(200, "OK", answer, append([]gosip.Header{
		gosip.NewHeader("Content-Type", "application/sdp"),
		gosip.NewHeader(lync.HeaderParkOrbit, p.Orbit)}, rt.sessionTimerOffer(req, answer)...)...)
	if err != nil {
		rt.pool.log.Warn("park: parkee leg not confirmed", "orbit", p.Orbit, "err", err)
		pk.leave(p, siputil.CallID(req))
	}
}

// partyName is how a parked call names a party: a user's name, or an outside party's URI.
func partyName(p park.Party) string {
	switch {
	case p.User != "":
		return p.User
	case p.Name != "":
		return p.Name
	}
	return "sip:" + p.Addr
}

// musicOnHold opens the RTP stream a parkee is answered with; it plays a tone when music
// on hold is enabled, and is silent (sends nothing) otherwise.
func (rt *runtime) musicOnHold(offerReq *gosip.Request, offer media.Audio, enabled bool) (*media.Stream, []byte, error) {
	g, callID := rt.pool.ids, siputil.CallID(offerReq)
	moh, err := media.Config{SSRC: g.Uint32("moh-ssrc", callID), Sequence: uint16(g.Uint32("moh-seq", callID)%0xffff + 1),
		Timestamp: g.Uint32("moh-ts", callID)}.Listen(rt.laddr.IP.String())
	if err != nil {
		return nil, nil, err
	}
	answerer := media.Answer
	if !enabled {
		answerer = media.AnswerListening // silent on purpose: say so, or the parkee's RTP timeout ends the call
	}
	answer, err := answerer(offerReq.Body(), moh.LocalAddr(), g.SDPSession(callID, "park"))
	if err != nil {
		moh.Close()
		return nil, nil, err
	}
	if enabled {
		a, _ := media.ParseAudio(answer)
		pt := media.PayloadPCMU
		if len(a.Payloads) > 0 {
			pt = a.Payloads[0]
		}
		moh.SetPayloadType(pt)
		moh.SetPayload(media.Tone(pt, mohHz, time.Second))
		moh.Start(offer.Addr)
	}
	return moh, answer, nil
}

// schedule starts the ring-back timer of p on the network's clock. The callback runs
// inside a virtual clock's Advance: it does the bookkeeping and arms the ring-back's own
// timeout there, at the time it fell due, and leaves only the SIP exchange to a goroutine.
func (pk *parking) schedule(p park.Parked, after time.Duration) clock.Timer {
	return pk.rt.pool.dep.Clock().AfterFunc(after, func() { pk.ringBack(p.Orbit, p.ID) })
}

// leave frees p's orbit and stops what it runs (the parkee hung up or its leg failed).
func (pk *parking) leave(p park.Parked, legID string) {
	pk.mu.Lock()
	h := pk.held[p.ID]
	pk.lot.Leave(p.Orbit, p.ID)
	delete(pk.held, p.ID)
	delete(pk.byLeg, legID)
	pk.mu.Unlock()
	pk.rt.forgetLegs(legID)
	if h != nil {
		h.release()
	}
}

// retrieve connects whoever dialled an orbit to the call parked there: the parkee is
// re-INVITEd with the retriever's offer, and the retriever answered with the parkee's
// media (SPEC section 4).
func (rt *runtime) retrieve(req *gosip.Request, tx gosip.ServerTransaction, caller topology.Caller, orbit string) {
	pk := rt.parking
	pk.mu.Lock()
	p, err := pk.lot.Retrieve(orbit)
	var h *heldCall
	if err == nil {
		h = pk.held[p.ID]
		delete(pk.held, p.ID)
		delete(pk.byLeg, siputil.CallID(h.parkee.InviteRequest))
	}
	pk.mu.Unlock()
	if err != nil {
		rt.respond(tx, req, topology.ParkLotRefusal(fmt.Errorf("no call is parked on orbit %s: %w", orbit, park.ErrOrbitEmpty)))
		return
	}
	h.release()
	ctx, cancel := context.WithTimeout(rt.ctx, siputil.TransactionTimeout())
	defer cancel()
	parkeeAnswer, err := pk.reinvite(ctx, h.parkee, req.Body(), caller.User)
	if err != nil {
		rt.byeLater(h.parkee)
		rt.pool.log.Warn("retrieve: parkee not reconnected", "orbit", orbit, "err", err) // the error stays in the log
		rt.respond(tx, req, topology.ParkeeNotReconnected(orbit))
		return
	}
	answer, err := media.Bridge(req.Body(), parkeeAnswer, rt.pool.ids.SDPSession(siputil.CallID(req), "retrieve"))
	if err != nil {
		rt.byeLater(h.parkee)
		rt.respond(tx, req, topology.RetrieveMediaMismatch(err))
		return
	}
	retriever, err := rt.cps.ReadInvite(req, tx)
	if err != nil {
		rt.byeLater(h.parkee)
		return
	}
	pk.rt.connectLegs(h.parkee, siputil.CallID(h.parkee.InviteRequest), retriever, siputil.CallID(req))
	rt.log("retrieved", req, "orbit", orbit, "retriever", caller.User, "parkee", p.Parkee)
	err = retriever.Respond(200, "OK", answer, append([]gosip.Header{
		gosip.NewHeader("Content-Type", "application/sdp"),
		gosip.NewHeader(lync.HeaderAssertedIdentity, rt.identityOf(p.Parkee))}, rt.sessionTimerOffer(req, answer)...)...)
	if err != nil {
		rt.pool.log.Warn("retrieve: retriever leg not confirmed", "orbit", orbit, "err", err)
	}
}

// reinvite sends the parkee a re-INVITE with sdp as offer, naming who it is now connected
// to, ACKs the answer and returns the parkee's SDP.
func (pk *parking) reinvite(ctx context.Context, parkee *sipgo.DialogServerSession, sdp []byte, party string) ([]byte, error) {
	target := *parkee.InviteRequest.Contact().Address.Clone()
	req := gosip.NewRequest(gosip.INVITE, target)
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	if party != "" {
		req.AppendHeader(gosip.NewHeader(lync.HeaderAssertedIdentity, pk.rt.identityOf(party)))
	}
	req.SetBody(sdp)
	tx, err := parkee.TransactionRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			if !res.IsSuccess() {
				return nil, fmt.Errorf("re-INVITE refused: %d %s", res.StatusCode, res.Reason)
			}
			ack := gosip.NewRequest(gosip.ACK, target)
			if err := parkee.WriteRequest(ack); err != nil {
				return nil, fmt.Errorf("ACK of re-INVITE: %w", err)
			}
			pk.rt.noteLegSDP(siputil.CallID(parkee.InviteRequest), sdp) // for session refreshes (cps_session_timer.go)
			return res.Body(), nil
		case <-tx.Done():
			return nil, fmt.Errorf("re-INVITE unanswered: %w", tx.Err())
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// inDialog handles the in-dialog requests of parked legs: a BYE from a parkee frees its
// orbit, and NOTIFYs of a transfer to OnTimeoutURI end the parkee's leg when final (a BYE
// on a retrieved or rung-back call is byeBridge's). It reports whether the
// request was one of those.
func (pk *parking) inDialog(req *gosip.Request, tx gosip.ServerTransaction) bool {
	id := siputil.CallID(req)
	pk.mu.Lock()
	h := pk.byLeg[id]
	pk.mu.Unlock()
	switch {
	case h != nil && req.Method == gosip.BYE:
		// Free the orbit before answering, so whoever sees the 200 sees the orbit free.
		pk.rt.log("parkee hung up", req, "orbit", h.p.Orbit)
		pk.leave(h.p, id)
		h.moh.Close() // a parkee being transferred is no longer in the lot (callpark_timeout.go)
		if err := h.parkee.ReadBye(req, tx); err != nil {
			pk.rt.pool.log.Debug("park: parkee BYE", "err", err)
		}
		return true
	case h != nil && req.Method == gosip.NOTIFY:
		tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
		if st := req.GetHeader("Subscription-State"); st != nil && strings.HasPrefix(strings.TrimSpace(st.Value()), "terminated") {
			pk.mu.Lock()
			delete(pk.byLeg, id)
			pk.mu.Unlock()
			go func() {
				pk.rt.byeLeg(h.parkee)
				h.moh.Close() // the music stops with the leg, not before (callpark_timeout.go)
			}()
		}
		return true
	}
	return false
}

// check verifies the parking lot and that its SIP legs match it: every parked call has
// exactly one held leg and every held leg is parked.
func (pk *parking) check() error {
	pk.mu.Lock()
	defer pk.mu.Unlock()
	errs := []error{pk.lot.Check()}
	calls := pk.lot.Calls()
	for _, p := range calls {
		if h, ok := pk.held[p.ID]; !ok || h.p.Orbit != p.Orbit {
			errs = append(errs, fmt.Errorf("orbit %s holds call %d, which has no parkee leg", p.Orbit, p.ID))
		}
	}
	if len(pk.held) != len(calls) {
		errs = append(errs, fmt.Errorf("%d parkee legs held for %d parked calls", len(pk.held), len(calls)))
	}
	return errors.Join(errs...)
}

// CheckParking verifies the parking lot invariant of every pool that answers: every orbit
// is free or held by exactly one live parked call. Tests run it after every park test.
func (n *Network) CheckParking() error {
	var errs []error
	for fqdn, p := range n.pools {
		if rt := p.runtime(); rt != nil {
			if err := rt.parking.check(); err != nil {
				errs = append(errs, fmt.Errorf("pool %s: %w", fqdn, err))
			}
		}
	}
	return errors.Join(errs...)
}

// ParkedCalls returns the calls parked on a pool now (none while it is down).
func (p *Pool) ParkedCalls() []park.Parked {
	rt := p.runtime()
	if rt == nil {
		return nil
	}
	rt.parking.mu.Lock()
	defer rt.parking.mu.Unlock()
	return rt.parking.lot.Calls()
}
