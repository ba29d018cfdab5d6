package admin

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/pickupsim/pickupsim/sip"
)

// logSize is how many changes the log keeps (the oldest go first).
const logSize = 200

// LogEntry is one line of the change log the status page and `pickupsim status` show.
type LogEntry struct {
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// changeLog is what happened since serve started, kept by the server (not the page), so
// a page opened or reloaded later shows it too. It is fed by the network's change reports
// (phases, the administrator's changes, refusals phones got) and by comparing successive
// statuses (users' registrations and modes, which change without a report when a failover
// completes or a registration expires).
type changeLog struct {
	mu      sync.Mutex
	entries []LogEntry
	last    map[string]string // user -> "mode on pool", from the previous status
	lastOrb map[string]string // orbit range -> CallParkService
}

func (l *changeLog) add(at time.Time, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, LogEntry{At: at, Text: fmt.Sprintf(format, args...)})
	if len(l.entries) > logSize {
		l.entries = append([]LogEntry(nil), l.entries[len(l.entries)-logSize:]...)
	}
}

// Entries returns the log, oldest first.
func (l *changeLog) Entries() []LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]LogEntry{}, l.entries...)
}

// observe logs what a change report says an operator wants to see.
func (l *changeLog) observe(at time.Time, c sip.Change) {
	switch c.Kind {
	case sip.ChangePhase:
		l.add(at, "pool %s: %s", c.Pool, c.Detail)
	case sip.ChangeConfig:
		l.add(at, "administrator: %s", c.Detail)
	case sip.ChangeResponse:
		if !c.FromPhone || c.InDialog || c.Code < 300 && !c.Pickup {
			return
		}
		why := ""
		if c.Warning != "" {
			why = ": " + c.Warning
		}
		switch {
		case c.Method == "REGISTER" && c.Code >= 300:
			l.add(at, "%s: REGISTER %s at %s%s", c.User, codeText(c.Code), c.Pool, why)
		case c.Method == "INVITE" && c.Pickup && c.Code < 300:
			l.add(at, "pickup of %s at %s: answered", c.Dialled, c.Pool)
		case c.Method == "INVITE" && c.Code >= 300 && c.Code != 487:
			what := "call to " + c.Dialled
			if c.Pickup {
				what = "pickup of " + c.Dialled
			}
			l.add(at, "%s at %s: %s%s", what, c.Pool, codeText(c.Code), why)
		}
	}
}

// compare logs the differences between the previous status and st: users registering,
// signing out or changing mode, and orbit ranges changing owner.
func (l *changeLog) compare(st Status) {
	users := map[string]string{}
	for _, u := range st.Users {
		users[u.Name] = u.Mode
		if u.RegisteredOn != "" {
			users[u.Name] += " on " + u.RegisteredOn
		}
	}
	orbits := map[string]string{}
	for _, o := range st.Orbits {
		orbits[o.Identity] = o.CallParkService
	}
	l.mu.Lock()
	prevUsers, prevOrbits := l.last, l.lastOrb
	l.last, l.lastOrb = users, orbits
	l.mu.Unlock()
	if prevUsers == nil {
		return // the first look: nothing to compare with
	}
	for _, u := range st.Users {
		if was := prevUsers[u.Name]; was != users[u.Name] {
			l.add(st.Now, "user %s: %s -> %s", u.Name, was, users[u.Name])
		}
	}
	for _, o := range st.Orbits {
		was, ok := prevOrbits[o.Identity]
		switch {
		case !ok:
			l.add(st.Now, "orbit range %s created, on %s", o.Identity, o.CallParkService)
		case was != o.CallParkService:
			l.add(st.Now, "orbit range %s: CallParkService %s -> %s", o.Identity, was, o.CallParkService)
		}
	}
	for id := range prevOrbits {
		if _, ok := orbits[id]; !ok {
			l.add(st.Now, "orbit range %s removed", id)
		}
	}
}

func codeText(code int) string {
	if r := reasons[code]; r != "" {
		return strconv.Itoa(code) + " " + r
	}
	return strconv.Itoa(code)
}

var reasons = map[int]string{301: "Moved Permanently", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
	404: "Not Found", 407: "Proxy Authentication Required", 408: "Request Timeout", 480: "Temporarily Unavailable",
	481: "Call/Transaction Does Not Exist", 486: "Busy Here", 489: "Bad Event", 503: "Service Unavailable"}

// compareGap is the least time between two comparisons of the status after answered
// requests (and at least ten times what the last comparison took). Changes come in
// bursts (a registration storm reports one per REGISTER) and a status covers every user
// under the deployment's lock: compared once per change, the log took most of serve's
// CPU at 40,000 users and delayed every registrar decision (issue 14's benchmark).
const compareGap = 200 * time.Millisecond

// startChangeLog subscribes the log to the network's changes and compares the status every
// RefreshEvery, at once after a change of phase or configuration, and after a phone's
// request was answered but not again within compareGap, until the server is closed.
func (s *Server) startChangeLog() {
	s.changes = &changeLog{}
	n := s.cfg.Network
	soon := make(chan struct{}, 1) // a phone's request was answered: compare, not too often
	stopObserving := n.OnChange(func(c sip.Change) {
		s.changes.observe(n.Clock().Now(), c)
		wake := s.recheck // a pool's phase or the configuration changed: compare at once
		if c.Kind == sip.ChangeResponse {
			wake = soon
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	var last time.Time
	pause := compareGap
	compare := func() {
		began := time.Now()
		s.changes.compare(status(n))
		s.compared.Add(1)
		last = time.Now()
		// A status of 40,000 users takes about 0.1 s: keep the log to a tenth of a CPU.
		pause = max(compareGap, 10*last.Sub(began))
	}
	// The first look is taken before serve answers anyone, so a phone that registers at
	// once is logged as signing in rather than taken for the starting state.
	compare()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(s.cfg.RefreshEvery)
		defer tick.Stop()
		inBurst := false // the last comparison followed an answer
		for {
			// The first answer after a quiet spell is compared at once (a single phone's
			// registration shows in the log before a cmdlet that follows it); the answers of
			// a burst, at most every pause.
			wait := false
			select {
			case <-done:
				return
			case <-tick.C:
				wait, inBurst = true, false
			case <-s.recheck:
				inBurst = false
			case <-soon:
				wait, inBurst = inBurst, true
			}
			if wait {
				gap := time.NewTimer(pause - time.Since(last)) // a burst of REGISTERs, say
				select {
				case <-done:
					gap.Stop()
					return
				case <-gap.C:
				case <-s.recheck:
					gap.Stop()
				}
			}
			compare()
		}
	}()
	prev := s.stop
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			prev()
			stopObserving()
			close(done)
			<-finished
		})
	}
}

// fullStatus is the network's status with the change log.
func (s *Server) fullStatus() Status {
	st := status(s.cfg.Network)
	st.Log = s.changes.Entries()
	return st
}
