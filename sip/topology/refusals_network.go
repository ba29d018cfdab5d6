package topology

import "fmt"

// Refusals of requests a pool will not handle whatever the deployment's state: malformed
// input, relaying for strangers, and its own failures. Their Warnings speak to the
// administrator who reads them on a phone or in a trace; they never carry an internal
// error's text (that goes to the pool's log).

// MalformedRequest is the answer to a request that lacks a header RFC 3261 requires, or
// carries one the pool cannot read (RFC 3261 8.2 and 16.3: 400 Bad Request). problem names
// the header, for example "no From header".
func MalformedRequest(problem string) *Rejection {
	return reject(400, "Bad Request", 0, "malformed request: "+problem)
}

// TooManyHops is the answer to a request whose Max-Forwards reached zero (RFC 3261 16.3).
func TooManyHops() *Rejection {
	return reject(483, "Too Many Hops", 0, "Max-Forwards reached 0")
}

// HandlerFailed is the answer to a request the pool failed on (a recovered panic): the
// pool goes on, the details are in its log.
func HandlerFailed(pool string) *Rejection {
	return reject(500, "Server Internal Error", DiagGeneralError, pool+" could not handle this request; its log has the details")
}

// NotRelayed is the answer to a request a pool would have to relay to an address it does
// not know: pools are not open relays. They pass requests on only within the dialogs their
// Call Park application set up, to phones registered on them, and to the pools of the
// topology.
func NotRelayed(pool string) *Rejection {
	return reject(403, "Forbidden", 0,
		pool+" relays requests only to phones registered on it and to the pools of its topology")
}

// NoSuchDialog is the answer to an in-dialog request for a dialog the pool does not hold
// (RFC 3261 12.2.2).
func NoSuchDialog(pool string) *Rejection {
	return reject(481, "Call/Transaction Does Not Exist", 0, "no such dialog on "+pool)
}

// NextHopUnreachable is the answer when the pool could not send a request on to where it
// belongs (a phone's registration or a peer pool): the transport failed before any answer.
func NextHopUnreachable(what string) *Rejection {
	return reject(503, "Service Unavailable", 0, fmt.Sprintf("the request could not be sent on to %s", what))
}

// NoAnswerFrom is the answer when the next hop never answered a relayed request finally.
func NoAnswerFrom(what string) *Rejection {
	return reject(408, "Request Timeout", 0, fmt.Sprintf("no final answer from %s", what))
}

// MustAuthenticate is the digest challenge's Warning for a user with a password whose
// request carried no valid credentials; why is one of a few fixed reasons (never an
// internal error's text). code is 401 for REGISTER and 407 otherwise.
func MustAuthenticate(code int, user, why string) *Rejection {
	reason := "Proxy Authentication Required"
	if code == 401 {
		reason = "Unauthorized"
	}
	return reject(code, reason, 0, fmt.Sprintf("%s must authenticate: %s", user, why))
}
