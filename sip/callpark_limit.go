package sip

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/pickupsim/pickupsim/sip/topology"
)

// Park requests are rate limited per source address ("ip:port", as the pool sees it), to
// protect the Call Park application: each park request may cost a digest check, an RTP
// socket and an orbit. A phone parks a few calls a minute; a burst of parkLimitBurst is
// let through, then parkLimitRate a second. The buckets fill on the network's clock.
const (
	parkLimitRate    = 5
	parkLimitBurst   = 20
	parkLimitSources = 4096 // sources tracked at once; idle full buckets are dropped first
)

// sourceLimiter is a token bucket per source address.
type sourceLimiter struct {
	mu        sync.Mutex
	by        map[string]*rate.Limiter
	throttled atomic.Uint64
}

func newSourceLimiter() *sourceLimiter {
	return &sourceLimiter{by: map[string]*rate.Limiter{}}
}

// admit takes a token for a request from source at now, or returns the refusal to send,
// with how long until a token is back.
func (l *sourceLimiter) admit(source string, now time.Time) *topology.Rejection {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.by[source]
	if !ok {
		if len(l.by) >= parkLimitSources {
			l.sweep(now)
		}
		lim = rate.NewLimiter(parkLimitRate, parkLimitBurst)
		l.by[source] = lim
	}
	if lim.AllowN(now, 1) {
		return nil
	}
	l.throttled.Add(1)
	missing := 1 - lim.TokensAt(now)
	retry := time.Duration(missing / parkLimitRate * float64(time.Second))
	return topology.ParkThrottled(source, parkLimitRate, max(retry, time.Second))
}

// sweep forgets the sources whose bucket is full again (they have been quiet), or every
// source when none is.
func (l *sourceLimiter) sweep(now time.Time) {
	for src, lim := range l.by {
		if lim.TokensAt(now) >= parkLimitBurst {
			delete(l.by, src)
		}
	}
	if len(l.by) >= parkLimitSources {
		clear(l.by)
	}
}

// ParkRequestsThrottled returns how many park requests the pool refused over the
// per-source rate limit since it last started.
func (p *Pool) ParkRequestsThrottled() uint64 {
	rt := p.runtime()
	if rt == nil {
		return 0
	}
	return rt.parking.limit.throttled.Load()
}
