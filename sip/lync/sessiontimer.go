package lync

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// RFC 4028 session timers: the header fields both the Call Park application and the
// phones speak (sip/cps_session_timer.go is the pool's half, sip/phone's
// call_session_timer.go the phone's).

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
	RefresherUAC = "uac"
	RefresherUAS = "uas"
)

// SessionExpiry is a Session-Expires header field: the interval and who refreshes.
type SessionExpiry struct {
	Interval  time.Duration
	Refresher string // "uac", "uas", or "" when the sender leaves the choice open
}

// ParseSessionExpiry reads a Session-Expires (or its compact form x) header field.
func ParseSessionExpiry(msg interface{ GetHeader(string) gosip.Header }) (SessionExpiry, bool) {
	h := msg.GetHeader("Session-Expires")
	if h == nil {
		h = msg.GetHeader("x")
	}
	if h == nil {
		return SessionExpiry{}, false
	}
	parts := strings.Split(h.Value(), ";")
	secs, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || secs <= 0 {
		return SessionExpiry{}, false
	}
	se := SessionExpiry{Interval: max(time.Duration(secs)*time.Second, MinSE)}
	for _, p := range parts[1:] {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "refresher") {
			se.Refresher = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return se, true
}

// Header renders the Session-Expires header field.
func (se SessionExpiry) Header() gosip.Header {
	v := strconv.Itoa(int(se.Interval / time.Second))
	if se.Refresher != "" {
		v += ";refresher=" + se.Refresher
	}
	return gosip.NewHeader("Session-Expires", v)
}

// ExpiryMargin is how long before a session's expiry the side that does not refresh
// gives up on it: the smaller of 32 s and a third of the interval (RFC 4028 §10).
func ExpiryMargin(interval time.Duration) time.Duration {
	return min(32*time.Second, interval/3)
}

func (se SessionExpiry) String() string {
	return fmt.Sprintf("%s (refresher %s)", se.Interval, se.Refresher)
}
