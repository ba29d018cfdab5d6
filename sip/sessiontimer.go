package sip

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// RFC 4028 session timers: the vocabulary both the Call Park application and the phones
// speak (call_session_timer.go is the phone's half, cps_session_timer.go the pool's).

const (
	// SessionExpires is the session interval the Call Park application offers on the legs
	// it answers: RFC 4028's recommended 1800 s, which is also what Lync Server's own
	// session timers use (a Mediation Server call whose refresh fails ends after 30
	// minutes, KB 2735323).
	SessionExpires = 30 * time.Minute
	// MinSE is the smallest interval RFC 4028 §4 allows.
	MinSE = 90 * time.Second
)

// The refresher parameter's values (RFC 4028 §4): who sends the refreshes.
const (
	refresherUAC = "uac"
	refresherUAS = "uas"
)

// sessionExpires is a Session-Expires header field: the interval and who refreshes.
type sessionExpires struct {
	interval  time.Duration
	refresher string // "uac", "uas", or "" when the sender leaves the choice open
}

// parseSessionExpires reads a Session-Expires (or its compact form x) header field.
func parseSessionExpires(msg interface{ GetHeader(string) gosip.Header }) (sessionExpires, bool) {
	h := msg.GetHeader("Session-Expires")
	if h == nil {
		h = msg.GetHeader("x")
	}
	if h == nil {
		return sessionExpires{}, false
	}
	parts := strings.Split(h.Value(), ";")
	secs, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || secs <= 0 {
		return sessionExpires{}, false
	}
	se := sessionExpires{interval: max(time.Duration(secs)*time.Second, MinSE)}
	for _, p := range parts[1:] {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "refresher") {
			se.refresher = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return se, true
}

// header renders the Session-Expires header field.
func (se sessionExpires) header() gosip.Header {
	v := strconv.Itoa(int(se.interval / time.Second))
	if se.refresher != "" {
		v += ";refresher=" + se.refresher
	}
	return gosip.NewHeader("Session-Expires", v)
}

// supports reports whether a request's Supported or Require header lists option tag.
func supports(req *gosip.Request, tag string) bool {
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

// expiryMargin is how long before a session's expiry the side that does not refresh
// gives up on it: the smaller of 32 s and a third of the interval (RFC 4028 §10).
func expiryMargin(interval time.Duration) time.Duration {
	return min(32*time.Second, interval/3)
}

func (se sessionExpires) String() string {
	return fmt.Sprintf("%s (refresher %s)", se.interval, se.refresher)
}
