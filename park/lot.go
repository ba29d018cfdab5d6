package park

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Sentinel errors of the parking lot, each matching a Lync ms-diagnostics code
// ([MS-OCER] 7.25; SPEC section 6). Package sip maps them to SIP responses.
var (
	// ErrNoFreeOrbit: every orbit of the pool's CallPark ranges holds a call
	// (35002 "No more available orbits").
	ErrNoFreeOrbit = errors.New("no more available orbits")
	// ErrOrbitEmpty: nothing is parked on the dialled orbit (35000 "Orbit not
	// found").
	ErrOrbitEmpty = errors.New("orbit not found: nothing is parked on it")
	// ErrDoublePark: the call is parked already (35006 "Double park").
	ErrDoublePark = errors.New("double park: the call is parked already")
)

// ParkRequest is a call that asks to be parked.
type ParkRequest struct {
	// Key names the parked call for double-park detection: the Call-ID of the
	// conversation the parker transferred.
	Key string
	// Parker is the user who parked the call; ring-backs go to it.
	Parker string
	// Parkee is who is parked (a user, or an outside address).
	Parkee string
	// ParkedBefore says the conversation was parked once already (Conversation.Parked).
	// The transfer that parked it ended it: unless it is still on its orbit (a double
	// park), it is not parked again.
	ParkedBefore bool
}

// ParkedAgainError refuses to park a conversation that was parked before and has left its
// orbit since.
type ParkedAgainError struct{ Key string }

func (e *ParkedAgainError) Error() string {
	return fmt.Sprintf("the conversation %s was parked already and has left its orbit", e.Key)
}

// Parked is a call held on an orbit.
type Parked struct {
	ParkRequest
	// ID is unique in the lot (Lync's ms-parked-call id). Timers carry it so a
	// late timer cannot act on a later call parked on the same orbit.
	ID    uint64
	Orbit string
	// ParkedAt is when the call was parked; Due when the next ring-back is.
	ParkedAt, Due time.Time
	// RingBacks counts the ring-backs started so far.
	RingBacks int
	// RingingBack is true while a ring-back rings the parker.
	RingingBack bool
}

// TimeoutAction is what the Call Park application does after a ring-back
// nobody answered (SIPAPP 3.1.5.10).
type TimeoutAction int

const (
	// Repark: fewer than MaxCallPickupAttempts ring-backs so far; the call
	// stays parked and rings back again at Due.
	Repark TimeoutAction = iota
	// Forward: the last ring-back failed and OnTimeoutURI is set: transfer
	// the parkee there. The orbit is free.
	Forward
	// Disconnect: the last ring-back failed and no OnTimeoutURI is set: hang
	// the parkee up. The orbit is free.
	Disconnect
)

var timeoutActionNames = [...]string{"repark", "forward", "disconnect"}

// String names the action for logs.
func (a TimeoutAction) String() string {
	if a < 0 || int(a) >= len(timeoutActionNames) {
		return fmt.Sprintf("action(%d)", int(a))
	}
	return timeoutActionNames[a]
}

// TimeoutDecision is the answer to a failed ring-back.
type TimeoutDecision struct {
	Action TimeoutAction
	Call   Parked
	// Target is OnTimeoutURI for Forward.
	Target string
}

// Lot is the parking lot of one pool's Call Park application: the orbits of
// the pool's CallPark ranges and the calls parked on them. It reads no clock:
// every operation that needs the time takes it. Not safe for concurrent use;
// its owner locks.
//
// Allocation takes the least recently freed orbit, orbits never used counting
// as freed longest ago, in numeric order (a choice: Lync documents no order,
// and the deployment guide sizes ranges so that "any one orbit is not reused
// too quickly").
type Lot struct {
	fresh  []string // never used since they joined the lot, allocated first
	freed  []string // freed, oldest first
	known  map[string]bool
	parked map[string]*Parked // by orbit
	byKey  map[string]string  // parked call key -> orbit
	nextID uint64
	// changed is called when a call is parked or leaves its orbit (OnChange).
	changed func()
}

// OnChange makes every park and every freed orbit call f, under whatever lock the owner
// holds: f must return at once (busy lamps watch the orbits).
func (l *Lot) OnChange(f func()) { l.changed = f }

func (l *Lot) touched() {
	if l.changed != nil {
		l.changed()
	}
}

// NewLot returns a lot over orbits, all free, allocated in the order given.
func NewLot(orbits []string) *Lot {
	l := &Lot{known: map[string]bool{}, parked: map[string]*Parked{}, byKey: map[string]string{}}
	l.SetOrbits(orbits)
	return l
}

// SetOrbits follows a change of the orbit table (Set- or Remove-CsCallParkOrbit):
// new orbits are free and never used; orbits no longer owned are not
// allocated again, but a call parked on one stays parked until it leaves.
func (l *Lot) SetOrbits(orbits []string) {
	now := make(map[string]bool, len(orbits))
	for _, o := range orbits {
		now[o] = true
		if !l.known[o] {
			if _, busy := l.parked[o]; !busy {
				l.fresh = append(l.fresh, o)
			}
		}
	}
	gone := func(o string) bool { return !now[o] }
	l.fresh = slices.DeleteFunc(l.fresh, gone)
	l.freed = slices.DeleteFunc(l.freed, gone)
	l.known = now
}

// CallParkOrbits lists the orbits of the CallPark ranges pool owns in ranges,
// range by range in the order given, each range in numeric order.
func CallParkOrbits(ranges []OrbitRange, pool string) []string {
	var out []string
	for _, r := range ranges {
		if typ, _ := r.Type.canonical(); typ == CallPark && PoolName(r.CallParkService) == PoolName(pool) {
			out = append(out, r.Numbers()...)
		}
	}
	return out
}

// Park parks a call on the least recently freed orbit. Its first ring-back
// is due CallPickupTimeoutThreshold after now.
func (l *Lot) Park(r ParkRequest, cfg CPSConfig, now time.Time) (Parked, error) {
	o, parked := l.byKey[r.Key]
	if r.ParkedBefore && !parked {
		return Parked{}, &ParkedAgainError{Key: r.Key}
	}
	if parked && r.Key != "" {
		return Parked{}, fmt.Errorf("call %s on orbit %s: %w", r.Key, o, ErrDoublePark)
	}
	var orbit string
	switch {
	case len(l.fresh) > 0:
		orbit, l.fresh = l.fresh[0], l.fresh[1:]
	case len(l.freed) > 0:
		orbit, l.freed = l.freed[0], l.freed[1:]
	default:
		return Parked{}, fmt.Errorf("%d orbits, all busy: %w", len(l.parked), ErrNoFreeOrbit)
	}
	l.nextID++
	p := &Parked{ParkRequest: r, ID: l.nextID, Orbit: orbit, ParkedAt: now, Due: now.Add(cfg.CallPickupTimeoutThreshold)}
	l.parked[orbit] = p
	if r.Key != "" {
		l.byKey[r.Key] = orbit
	}
	l.touched()
	return *p, nil
}

// Get returns the call parked on orbit.
func (l *Lot) Get(orbit string) (Parked, bool) {
	p, ok := l.parked[orbit]
	if !ok {
		return Parked{}, false
	}
	return *p, true
}

// Retrieve takes the call off orbit for whoever dialled it, freeing the
// orbit (a ring-back in progress is abandoned by the caller).
func (l *Lot) Retrieve(orbit string) (Parked, error) {
	p, ok := l.parked[orbit]
	if !ok {
		return Parked{}, fmt.Errorf("orbit %s: %w", orbit, ErrOrbitEmpty)
	}
	l.free(p)
	return *p, nil
}

// Leave frees the orbit of call id: the parkee hung up, the pool lost it, or
// a ring-back was answered. False when orbit no longer holds that call.
func (l *Lot) Leave(orbit string, id uint64) (Parked, bool) {
	p, ok := l.holding(orbit, id)
	if !ok {
		return Parked{}, false
	}
	l.free(p)
	return *p, true
}

// Expire is the ring-back timer of call id falling due: it counts a ring-back
// and marks the call ringing back. False when orbit no longer holds that call
// or it rings back already.
func (l *Lot) Expire(orbit string, id uint64) (Parked, bool) {
	p, ok := l.holding(orbit, id)
	if !ok || p.RingingBack {
		return Parked{}, false
	}
	p.RingBacks++
	p.RingingBack = true
	return *p, true
}

// RingBackFailed decides what follows a ring-back the parker did not answer:
// park again until MaxCallPickupAttempts ring-backs were made, then forward to
// OnTimeoutURI or disconnect, freeing the orbit. ok is false when orbit no
// longer holds call id (it was retrieved meanwhile).
func (l *Lot) RingBackFailed(orbit string, id uint64, cfg CPSConfig, now time.Time) (d TimeoutDecision, ok bool) {
	p, ok := l.holding(orbit, id)
	if !ok {
		return TimeoutDecision{}, false
	}
	p.RingingBack = false
	if p.RingBacks < cfg.MaxCallPickupAttempts {
		p.Due = now.Add(cfg.CallPickupTimeoutThreshold)
		return TimeoutDecision{Action: Repark, Call: *p}, true
	}
	l.free(p)
	if cfg.OnTimeoutURI != "" {
		return TimeoutDecision{Action: Forward, Call: *p, Target: cfg.OnTimeoutURI}, true
	}
	return TimeoutDecision{Action: Disconnect, Call: *p}, true
}

// Calls returns the parked calls, oldest park first.
func (l *Lot) Calls() []Parked {
	out := make([]Parked, 0, len(l.parked))
	for _, p := range l.parked {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b Parked) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// FreeCount is the number of orbits that can take a call now.
func (l *Lot) FreeCount() int { return len(l.fresh) + len(l.freed) }

// Check verifies the lot's invariant: every orbit of the lot is either free
// (once) or held by exactly one parked call, parked calls are indexed by
// their key, and nothing unknown is free. It returns every violation.
func (l *Lot) Check() error {
	var errs []error
	seen := map[string]string{}
	for _, list := range [][]string{l.fresh, l.freed} {
		for _, o := range list {
			if where, dup := seen[o]; dup {
				errs = append(errs, fmt.Errorf("orbit %s is free twice (%s)", o, where))
			}
			seen[o] = "free"
			if !l.known[o] {
				errs = append(errs, fmt.Errorf("orbit %s is free but not an orbit of the lot", o))
			}
		}
	}
	for o, p := range l.parked {
		if _, dup := seen[o]; dup {
			errs = append(errs, fmt.Errorf("orbit %s is both free and held by call %d", o, p.ID))
		}
		seen[o] = "parked"
		if p.Orbit != o {
			errs = append(errs, fmt.Errorf("call %d is filed under orbit %s but says %s", p.ID, o, p.Orbit))
		}
		if p.Key != "" && l.byKey[p.Key] != o {
			errs = append(errs, fmt.Errorf("call %d (key %s) on orbit %s is not indexed by its key", p.ID, p.Key, o))
		}
	}
	for k, o := range l.byKey {
		if p, ok := l.parked[o]; !ok || p.Key != k {
			errs = append(errs, fmt.Errorf("key %s points at orbit %s, which does not hold it", k, o))
		}
	}
	for o := range l.known {
		if _, ok := seen[o]; !ok {
			errs = append(errs, fmt.Errorf("orbit %s is leaked: neither free nor held", o))
		}
	}
	return errors.Join(errs...)
}

// holding returns the call on orbit if it is call id.
func (l *Lot) holding(orbit string, id uint64) (*Parked, bool) {
	p, ok := l.parked[orbit]
	if !ok || p.ID != id {
		return nil, false
	}
	return p, true
}

// free takes p off its orbit; the orbit joins the back of the free queue if
// the pool still owns it.
func (l *Lot) free(p *Parked) {
	delete(l.parked, p.Orbit)
	if p.Key != "" {
		delete(l.byKey, p.Key)
	}
	if l.known[p.Orbit] {
		l.freed = append(l.freed, p.Orbit)
	}
	l.touched()
}
