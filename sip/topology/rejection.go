package topology

import (
	"fmt"
	"time"
)

// Rejection is a refusal a caller can read: the SIP status, a Warning text that explains
// it in an administrator's words, and Lync's ms-diagnostics code where Lync has one (SPEC
// section 6). Package sip turns it into a response.
type Rejection struct {
	Code       int
	Reason     string
	Warning    string
	Diagnostic int // 0 when Lync has no code for it
	// RetryAfter, when set, becomes a Retry-After header.
	RetryAfter time.Duration
}

// Lync ms-diagnostics codes of the Call Park application ([MS-OCER] 7.25).
const (
	DiagOrbitNotFound      = 35000
	DiagGeneralError       = 35001
	DiagNoFreeOrbit        = 35002
	DiagOutsideEnterprise  = 35003
	DiagParkTimeout        = 35004
	DiagDoublePark         = 35006
	DiagCannotForward      = 35011
	DiagDraining           = 35012
	DiagParkTimeExpired    = 35013
	DiagTerminatingParker  = 35014
	DiagParkTimeExpiredAlt = 35015
	DiagNoConversation     = 35016
)

// DiagnosticText is Lync's text for each ms-diagnostics code.
var DiagnosticText = map[int]string{
	DiagOrbitNotFound:      "Orbit not found",
	DiagGeneralError:       "General processing error",
	DiagNoFreeOrbit:        "No more available orbits",
	DiagOutsideEnterprise:  "Cannot un-park from outside of enterprise",
	DiagParkTimeout:        "Park request time-out",
	DiagDoublePark:         "Double park",
	DiagCannotForward:      "Could not forward to parking server",
	DiagDraining:           "Parking server is in draining mode",
	DiagParkTimeExpired:    "Park time expired, terminating parkee leg",
	DiagTerminatingParker:  "Terminating dialog with parker",
	DiagParkTimeExpiredAlt: "Park time expired, terminating parkee leg",
	DiagNoConversation:     "No valid conversation to park a call",
}

func reject(code int, reason string, diag int, warning string) *Rejection {
	return &Rejection{Code: code, Reason: reason, Diagnostic: diag, Warning: warning}
}

// NothingToPickUp is the answer to a pickup when no call rings in the group (SPEC section 3).
func NothingToPickUp(number string) *Rejection {
	return reject(404, "Not Found", DiagOrbitNotFound, "no call is ringing in group call pickup group "+number)
}

// NotFromAPeerPool refuses a request only the deployment's own pools may send (a PUBLISH of
// dialog state, an INVITE that takes over a ringing call): pools tell each other about
// ringing calls over SIP, and accept it only from each other's exact addresses.
func NotFromAPeerPool(method string) *Rejection {
	return reject(403, "Forbidden", 0, method+" of this kind is accepted only from the deployment's pools")
}

// BadEvent refuses a PUBLISH for an event package the pool does not keep (RFC 3903 section
// 6: 489 Bad Event).
func BadEvent(event string) *Rejection {
	return reject(489, "Bad Event", 0, fmt.Sprintf("event package %q is not published here (only dialog)", event))
}

// UnsupportedBody refuses a body of a type the pool does not read (415).
func UnsupportedBody(contentType, want string) *Rejection {
	return reject(415, "Unsupported Media Type", 0, fmt.Sprintf("body of type %q: want %s", contentType, want))
}

// MalformedBody refuses a body the pool cannot read (400), naming what is wrong.
func MalformedBody(err error) *Rejection {
	return reject(400, "Bad Request", 0, err.Error())
}

// NotHoldingQueue refuses a report of a ringing call to a pool that does not hold the
// group's queue (the range moved, or its Call Park application does not run).
func NotHoldingQueue(pool, number string) *Rejection {
	return reject(404, "Not Found", DiagOrbitNotFound,
		fmt.Sprintf("%s does not hold the group call pickup queue of %s now", pool, number))
}

// NoRingingCall answers a takeover of a ringing call that is no longer ringing here
// (answered, cancelled, picked up or timed out): RFC 3891 section 3's 481 for a Replaces
// that matches no dialog. The pool that sent it tries the group's next call.
func NoRingingCall(callID string) *Rejection {
	return reject(481, "Call/Transaction Does Not Exist", 0, "no call "+callID+" is ringing here any more")
}
