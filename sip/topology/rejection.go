package topology

import "time"

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
