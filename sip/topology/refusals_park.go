package topology

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/pickupsim/pickupsim/park"
)

// The refusals of Call Park (SPEC sections 4 and 6): of a park request, by the deployment
// (AdmitPark), the parking lot or the Call Park application, and of a retrieval.

// ParkerOutsideEnterprise refuses to park a conversation whose other party, the parker,
// called from outside the enterprise: only enterprise users park (35016).
func ParkerOutsideEnterprise(parker park.Party) *Rejection {
	return reject(403, "Forbidden", DiagNoConversation,
		fmt.Sprintf("the other party of the call, %s, is from outside the enterprise and cannot park it", parker))
}

// ParkerNotAUser refuses a park whose parker names no user of the topology (35016).
func ParkerNotAUser(user string) *Rejection {
	return reject(403, "Forbidden", DiagNoConversation, fmt.Sprintf("the parker %q is not a user of the enterprise", user))
}

// ParkerSignedOut refuses a park whose parker no pool serves now.
func ParkerSignedOut(user, why string) *Rejection {
	return reject(480, "Temporarily Unavailable", 0, fmt.Sprintf("the parker %s is signed out (%s) and cannot park a call", user, why))
}

// ParkerInResiliency refuses a park whose parker is in resiliency mode (SPEC section 5:
// Call Park is not available in resiliency mode).
func ParkerInResiliency(user, why string) *Rejection {
	return reject(480, "Temporarily Unavailable", 0,
		fmt.Sprintf("%s is in resiliency mode (%s) and cannot park a call", user, why))
}

// ParkOnOwnPool refuses a park request a peer pool sent on to a pool that does not serve
// the parker: it is never sent on again.
func ParkOnOwnPool(user, servedBy, pool string) *Rejection {
	return reject(403, "Forbidden", 0,
		fmt.Sprintf("%s is served by %s, not %s: park on your own pool's Call Park application", user, servedBy, pool))
}

// ParkerPoolNotAnswering refuses a park that belongs to the parker's pool when that pool
// does not answer (35011).
func ParkerPoolNotAnswering(pool, user string) *Rejection {
	return reject(503, "Service Unavailable", DiagCannotForward,
		fmt.Sprintf("%s, which serves the parker %s, is not answering", pool, user))
}

// CallParkDisabled refuses a park on a pool whose Call Park application is disabled (35011).
func CallParkDisabled(pool string) *Rejection {
	return reject(503, "Service Unavailable", DiagCannotForward, fmt.Sprintf("the Call Park application of %s is disabled", pool))
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
	var again *park.ParkedAgainError
	switch {
	case errors.As(err, &again):
		return ConversationParkedAlready(again.Key)
	case errors.Is(err, park.ErrNoFreeOrbit):
		return NoFreeOrbit(err)
	case errors.Is(err, park.ErrDoublePark):
		return DoublePark(err)
	case errors.Is(err, park.ErrOrbitEmpty):
		return OrbitEmpty(err)
	}
	return ParkFailed(err)
}

// NoFreeOrbit refuses a park when every orbit of the pool's CallPark ranges holds a call
// (35002).
func NoFreeOrbit(err error) *Rejection {
	return reject(480, "Temporarily Unavailable", DiagNoFreeOrbit, err.Error())
}

// DoublePark refuses to park a call that is parked already (35006).
func DoublePark(err error) *Rejection { return reject(486, "Busy Here", DiagDoublePark, err.Error()) }

// OrbitEmpty refuses a retrieval from an orbit nothing is parked on (35000).
func OrbitEmpty(err error) *Rejection {
	return reject(404, "Not Found", DiagOrbitNotFound, err.Error())
}

// ParkFailed is any other failure of the parking lot (35001).
func ParkFailed(err error) *Rejection {
	return reject(500, "Server Internal Error", DiagGeneralError, err.Error())
}

// ParkeeNotReconnected refuses a retrieval whose parkee did not take the retriever's media
// (its re-INVITE failed): the parkee is hung up (35001).
func ParkeeNotReconnected(orbit string) *Rejection {
	return reject(480, "Temporarily Unavailable", DiagGeneralError,
		fmt.Sprintf("the call parked on orbit %s could not be reconnected", orbit))
}

// RetrieveMediaMismatch refuses a retrieval whose retriever's offer and parkee's answer
// have no media in common.
func RetrieveMediaMismatch(err error) *Rejection {
	return reject(488, "Not Acceptable Here", 0, err.Error())
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
