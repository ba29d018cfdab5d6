package topology

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/pickupsim/pickupsim/park"
)

// ParkUser is the user part of the Call Park application's URI, sip:park@<domain> (or
// sip:park@<a pool's address>): a phone parks a call by blind-transferring it there.
const ParkUser = "park"

// ParkKind says what a pool does with a park request.
type ParkKind int

// The park kinds.
const (
	// ParkRefused: answer with ParkAdmission.Reject.
	ParkRefused ParkKind = iota
	// ParkHere: this pool serves the parker: its Call Park application parks the call on
	// one of its own CallPark orbits, with its own CPS settings.
	ParkHere
	// ParkElsewhere: another pool serves the parker (ParkAdmission.Pool): the request goes
	// there, because the pool that serves the user parks.
	ParkElsewhere
)

// ParkAdmission is the deployment's answer to a park request.
type ParkAdmission struct {
	Kind   ParkKind
	Pool   string // ParkElsewhere
	CPS    park.CPSConfig
	Orbits []string // ParkHere: the orbits of this pool's CallPark ranges
	Reject *Rejection
}

// AdmitPark decides, at pool, a park on behalf of parker, the other party of the
// parkee's conversation (SPEC section 4 and 5): the parker must be an enterprise user
// served out of resiliency mode, and the pool that serves the parker parks, with its
// CallPark ranges and CPS settings ("After failover, parking uses the backup pool's
// CallPark ranges and its CPS settings"). fromPeer says the request was sent on by a peer
// pool, which chose this pool as the parker's: it is never sent on again.
func (d *Deployment) AdmitPark(pool string, parker park.Party, fromPeer bool, now time.Time) ParkAdmission {
	refuse := func(r *Rejection) ParkAdmission { return ParkAdmission{Reject: r} }
	if !parker.Enterprise() {
		return refuse(reject(403, "Forbidden", DiagNoConversation,
			fmt.Sprintf("the other party of the call, %s, is from outside the enterprise and cannot park it", parker)))
	}
	pl, err := d.Place(parker.User, now)
	switch {
	case err != nil:
		return refuse(reject(403, "Forbidden", DiagNoConversation, fmt.Sprintf("the parker %q is not a user of the enterprise", parker.User)))
	case pl.Pool == "":
		return refuse(reject(480, "Temporarily Unavailable", 0, fmt.Sprintf("the parker %s is signed out (%s) and cannot park a call", parker.User, pl.Why)))
	case pl.Mode == Resiliency:
		return refuse(reject(480, "Temporarily Unavailable", 0,
			fmt.Sprintf("%s is in resiliency mode (%s) and cannot park a call", parker.User, pl.Why)))
	case pl.Pool != pool && fromPeer:
		return refuse(reject(403, "Forbidden", 0,
			fmt.Sprintf("%s is served by %s, not %s: park on your own pool's Call Park application", parker.User, pl.Pool, pool)))
	case pl.Pool != pool:
		if st, ok := d.pools[pl.Pool]; !ok || !st.up {
			return refuse(reject(503, "Service Unavailable", DiagCannotForward,
				fmt.Sprintf("%s, which serves the parker %s, is not answering", pl.Pool, parker.User)))
		}
		return ParkAdmission{Kind: ParkElsewhere, Pool: pl.Pool}
	case d.config[pool].CPSDisabled:
		return refuse(reject(503, "Service Unavailable", DiagCannotForward, fmt.Sprintf("the Call Park application of %s is disabled", pool)))
	}
	cfg, _ := d.CPS(pool)
	return ParkAdmission{Kind: ParkHere, CPS: cfg, Orbits: park.CallParkOrbits(d.Orbits(), pool)}
}

// NoConversationToPark refuses a park request whose sender has no conversation the pool
// proxied, or whose hints name none of its conversations (35016).
func NoConversationToPark(err error) *Rejection {
	return reject(403, "Forbidden", DiagNoConversation,
		fmt.Sprintf("%v: a phone parks the other party of a call this pool set up, by a blind transfer (REFER) to sip:park@<domain>", err))
}

// ConversationParkedAlready refuses to park a conversation a second time once its first
// park ended: the transfer that parked it ended it.
func ConversationParkedAlready(callID string) *Rejection {
	return reject(403, "Forbidden", DiagNoConversation, fmt.Sprintf("the conversation %s was parked already and has left its orbit", callID))
}

// ParkLotRefusal turns a parking lot error into the answer Lync gives (SPEC section 6).
func ParkLotRefusal(err error) *Rejection {
	switch {
	case errors.Is(err, park.ErrNoFreeOrbit):
		return reject(480, "Temporarily Unavailable", DiagNoFreeOrbit, err.Error())
	case errors.Is(err, park.ErrDoublePark):
		return reject(486, "Busy Here", DiagDoublePark, err.Error())
	case errors.Is(err, park.ErrOrbitEmpty):
		return reject(404, "Not Found", DiagOrbitNotFound, err.Error())
	}
	return reject(500, "Server Internal Error", DiagGeneralError, err.Error())
}

// BadParkOffer refuses a park request whose SDP offer cannot be answered.
func BadParkOffer(err error) *Rejection {
	return reject(488, "Not Acceptable Here", 0, "the park request's SDP offer cannot be answered: "+err.Error())
}

// MusicOnHoldElsewhere refuses a park request whose SDP asks for music on hold at an
// address other than its sender's: the Call Park application streams only to the parkee
// (it would otherwise be a traffic reflector).
func MusicOnHoldElsewhere(media, source netip.Addr) *Rejection {
	return reject(488, "Not Acceptable Here", 0,
		fmt.Sprintf("the park request asks for music on hold at %s, but comes from %s: music on hold goes only to the parkee's own address", media, source))
}

// ParkThrottled refuses a park request over the per-source rate limit that protects the
// Call Park application.
func ParkThrottled(source string, perSecond float64, retry time.Duration) *Rejection {
	r := reject(503, "Service Unavailable", 0,
		fmt.Sprintf("too many park requests from %s (at most %g a second): try again in %s", source, perSecond, retry))
	r.RetryAfter = retry
	return r
}

// PoolNotAnswering refuses a request this pool would send on to a pool that is not running.
func PoolNotAnswering(pool string) *Rejection {
	return reject(503, "Service Unavailable", 0, pool+" is not running")
}
