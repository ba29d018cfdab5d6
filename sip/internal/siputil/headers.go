package siputil

import (
	"strconv"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// Supports reports whether a request's Supported or Require header lists option tag.
func Supports(req *gosip.Request, tag string) bool {
	for _, name := range []string{"Supported", "k", "Require"} {
		for _, h := range req.GetHeaders(name) {
			for _, t := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(t), tag) {
					return true
				}
			}
		}
	}
	return false
}

// CallID returns a message's Call-ID, or "" when it has none.
func CallID(m interface{ CallID() *gosip.CallIDHeader }) string {
	if c := m.CallID(); c != nil {
		return c.Value()
	}
	return ""
}

// Nil-safe readers of the headers a hostile message may lack. The guard keeps requests
// without From, To or Contact away from the pools' handlers, but responses (a phone's
// answer relayed or read by a pool, a pool's answer read by a phone) are read without it.

// FromUser returns the user part of a message's From, or "".
func FromUser(m interface{ From() *gosip.FromHeader }) string {
	if h := m.From(); h != nil {
		return h.Address.User
	}
	return ""
}

// ToUser returns the user part of a message's To, or "".
func ToUser(m interface{ To() *gosip.ToHeader }) string {
	if h := m.To(); h != nil {
		return h.Address.User
	}
	return ""
}

// Expires is the positive Expires a response grants (a SUBSCRIBE's 2xx, RFC 6665 4.1.2.1),
// or def when it names none.
func Expires(res *gosip.Response, def int) int {
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			return n
		}
	}
	return def
}
