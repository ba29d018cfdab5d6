package admin

import (
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/topology"
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
	entries []LogEntry           // the last logSize to 2*logSize entries (add trims in batches)
	last    map[string]placement // registered users, from the previous look (others are offline)
	lastOrb map[string]string    // orbit range -> CallParkService
	// dirty are the users whose REGISTER was answered since the last look: a burst's look
	// compares only them (compareUsers), so a storm costs the log what it registers, not
	// a look at every user after every few hundred REGISTERs.
	dirty map[string]struct{}
}

// placement is where a user is registered and in which mode the pool serves it.
type placement struct {
	mode topology.Mode
	pool string
}

func (p placement) String() string { return p.mode.String() + " on " + p.pool }

// placementText is a user's placement as the log shows it: "normal on pool01", "offline".
func placementText(p placement, registered bool) string {
	if !registered {
		return topology.Offline.String()
	}
	return p.String()
}

func (l *changeLog) add(at time.Time, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, LogEntry{At: at, Text: fmt.Sprintf(format, args...)})
	if len(l.entries) > 2*logSize { // trimmed in batches: a storm adds thousands in a row
		l.entries = append([]LogEntry(nil), l.entries[len(l.entries)-logSize:]...)
	}
}

// Entries returns the log, oldest first.
func (l *changeLog) Entries() []LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]LogEntry{}, l.entries[max(0, len(l.entries)-logSize):]...)
}

// observe logs what a change report says an operator wants to see.
func (l *changeLog) observe(at time.Time, c sip.Change) {
	switch c.Kind {
	case sip.ChangePhase:
		l.add(at, "pool %s: %s", c.Pool, c.Detail)
	case sip.ChangeConfig:
		l.add(at, "administrator: %s", c.Detail)
	case sip.ChangeResponse:
		if c.Method == "REGISTER" && c.User != "" {
			l.mu.Lock()
			if l.dirty == nil {
				l.dirty = map[string]struct{}{}
			}
			l.dirty[c.User] = struct{}{}
			l.mu.Unlock()
		}
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

// look is what the log compares: the registered users and the orbit ranges' owners. It
// is not the status page's Status, which places every user of the topology (at 40,000
// users that look took most of serve's CPU in a storm, issue 14's benchmark).
func look(n *sip.Network) (map[string]placement, map[string]string) {
	users := map[string]placement{}
	for _, ps := range n.Pools() {
		p, ok := n.Pool(ps.FQDN)
		if !ok {
			continue
		}
		for u, m := range p.Registered() {
			users[u] = placement{mode: m, pool: ps.FQDN}
		}
	}
	orbits := map[string]string{}
	for _, r := range n.CallParkOrbits() {
		orbits[r.Identity] = r.CallParkService
	}
	return users, orbits
}

// compare logs the differences between the previous look and this one (look): users
// registering, signing out or changing mode, and orbit ranges changing owner.
func (l *changeLog) compare(now time.Time, users map[string]placement, orbits map[string]string) {
	l.mu.Lock()
	prevUsers, prevOrbits := l.last, l.lastOrb
	l.last, l.lastOrb, l.dirty = users, orbits, nil
	l.mu.Unlock()
	if prevUsers == nil {
		return // the first look: nothing to compare with
	}
	var changed []string
	for u, p := range users {
		if was, ok := prevUsers[u]; !ok || was != p {
			changed = append(changed, u)
		}
	}
	for u := range prevUsers {
		if _, ok := users[u]; !ok {
			changed = append(changed, u)
		}
	}
	sort.Strings(changed)
	for _, u := range changed {
		was, wasOK := prevUsers[u]
		is, isOK := users[u]
		l.add(now, "user %s: %s -> %s", u, placementText(was, wasOK), placementText(is, isOK))
	}
	ids := make([]string, 0, len(orbits))
	for id := range orbits {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		was, ok := prevOrbits[id]
		switch {
		case !ok:
			l.add(now, "orbit range %s created, on %s", id, orbits[id])
		case was != orbits[id]:
			l.add(now, "orbit range %s: CallParkService %s -> %s", id, was, orbits[id])
		}
	}
	for id := range prevOrbits {
		if _, ok := orbits[id]; !ok {
			l.add(now, "orbit range %s removed", id)
		}
	}
}

// compareUsers logs the changes of the users whose REGISTER was answered since the last
// look, asking the pools about them alone, in the mode their registrar gave them: a later
// change of mode without a REGISTER comes with a change of phase (a full look at once) or
// the failover timer running out (the next periodic look).
func (l *changeLog) compareUsers(now time.Time, n *sip.Network) {
	l.mu.Lock()
	dirty := l.dirty
	l.dirty = nil
	first := l.last == nil
	l.mu.Unlock()
	if first {
		users, orbits := look(n)
		l.compare(now, users, orbits)
		return
	}
	names := make([]string, 0, len(dirty))
	for u := range dirty {
		names = append(names, u)
	}
	sort.Strings(names)
	var pools []*sip.Pool
	for _, ps := range n.Pools() {
		if p, ok := n.Pool(ps.FQDN); ok {
			pools = append(pools, p)
		}
	}
	for _, u := range names {
		var is placement
		ok := false
		for _, p := range pools { // the last pool that has the user, as in look
			if m, bound := p.BoundMode(u); bound {
				is, ok = placement{mode: m, pool: p.FQDN()}, true
			}
		}
		l.mu.Lock()
		was, wasOK := l.last[u]
		if ok {
			l.last[u] = is
		} else {
			delete(l.last, u)
		}
		l.mu.Unlock()
		if wasOK != ok || was != is && ok {
			l.add(now, "user %s: %s -> %s", u, placementText(was, wasOK), placementText(is, ok))
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

// storms is how many RefreshEvery a look at every user may wait while answers keep
// coming; a registration that expires in a storm shows in the log that much later.
const storms = 5

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
	var lastFull time.Time
	compare := func() {
		began := time.Now()
		lastFull = began
		users, orbits := look(n)
		s.changes.compare(n.Clock().Now(), users, orbits)
		s.compared.Add(1)
		last = time.Now()
		// A look at 40,000 registered users takes some 10 ms: keep the log to a tenth of a CPU.
		pause = max(compareGap, 10*last.Sub(began))
	}
	compareUsers := func() { // a burst's look: the users whose REGISTER was answered
		s.changes.compareUsers(n.Clock().Now(), n)
		s.compared.Add(1)
		last = time.Now()
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
		var lastAnswer time.Time
		for {
			// The first answer after a quiet spell is compared at once (a single phone's
			// registration shows in the log before a cmdlet that follows it); the answers of
			// a burst, at most every pause.
			// An answer's look covers the users whose REGISTER was answered; the tick's and
			// a phase's or configuration change's, every user.
			wait, full := false, true
			select {
			case <-done:
				return
			case <-tick.C:
				if time.Since(lastAnswer) < s.cfg.RefreshEvery && time.Since(lastFull) < storms*s.cfg.RefreshEvery {
					// answers keep coming (a storm): their users are looked at as they come,
					// and a look at every user waits, so that it costs the log a share of a
					// storm that stays small however many users there are
					continue
				}
				wait, inBurst = true, false
			case <-s.recheck:
				inBurst = false
			case <-soon:
				lastAnswer = time.Now()
				wait, inBurst, full = inBurst, true, false
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
					full = true
				}
			}
			if full {
				compare()
			} else {
				compareUsers()
			}
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
