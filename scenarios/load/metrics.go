package load

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip/loadphone"
)

// kind indexes the operations a rehearsal measures (scenario.OpKinds, in that order).
type kind uint8

const (
	kRegister kind = iota
	kCall
	kPickup
	kPark
	kRetrieve
	kHangup
	numKinds
)

func (k kind) String() string { return scenario.OpKinds[k] }

func kindOf(name string) (kind, bool) {
	for i, n := range scenario.OpKinds {
		if n == name {
			return kind(i), true
		}
	}
	return 0, false
}

// op is one measured operation: who started it (their home pool), when, how long until
// it was set up, and how it ended.
type op struct {
	kind  kind
	phase int16
	pool  int16 // 1-based home pool of the user who started it
	code  int16
	diag  int32
	start time.Duration // since the rehearsal started
	setup time.Duration
	// redirected marks a REGISTER answered with 301/302: neither a success nor a refusal.
	redirected bool
	noAnswer   bool
	reason     string
}

func (o op) ok() bool { return o.code >= 200 && o.code < 300 }

// refusalKey groups refusals in reports: status, reason phrase and diagnostic code.
type refusalKey struct {
	phase  int16
	kind   kind
	code   int16
	diag   int32
	reason string
}

// metrics collects everything a rehearsal measures. Operations are appended by many
// goroutines; the per-second series is sampled by one.
type metrics struct {
	t0    time.Time
	phase atomic.Int32

	mu       sync.Mutex
	ops      []op
	examples map[refusalKey]string // the first Warning seen for each kind of refusal

	// Live counters: successes and refusals per kind, and what the phones know of their
	// registrations.
	ok, refused                 [numKinds]atomic.Int64
	normal, resiliency, offline atomic.Int64
	callsUp                     atomic.Int64
	registersSent               atomic.Int64
	trackMu                     sync.Mutex
	trackers                    []*tracker
	userIndex                   map[string]int // user name -> index in the population
	users                       []string
	homeOf                      func(i int) int
	samples                     []Sample
	lastOK, lastRefused         [numKinds]int64
	lastRegisters               int64
	sampleMu                    sync.Mutex

	curMu sync.Mutex // the phase running now, for the live progress
	cur   struct {
		name   string
		start  time.Time
		length time.Duration
	}
}

// enter starts phase idx: operations that end from now on count in it.
func (m *metrics) enter(idx int, name string, start time.Time, length time.Duration) {
	m.curMu.Lock()
	m.cur.name, m.cur.start, m.cur.length = name, start, length
	m.curMu.Unlock()
	m.phase.Store(int32(idx))
}

func newMetrics(users []string, homeOf func(int) int) *metrics {
	m := &metrics{t0: time.Now(), examples: map[refusalKey]string{}, userIndex: make(map[string]int, len(users)), users: users, homeOf: homeOf}
	for i, u := range users {
		m.userIndex[u] = i
	}
	m.offline.Store(int64(len(users)))
	return m
}

func (m *metrics) since(t time.Time) time.Duration { return t.Sub(m.t0) }

func (m *metrics) span(t time.Time) Duration { return Duration(t.Sub(m.t0)) }

// record files one operation started at start by user.
func (m *metrics) record(k kind, user string, start time.Time, setup time.Duration, out loadphone.Outcome) {
	// An operation counts in the phase it ended in: where the deployment decided it (a call
	// an outage ends, a REGISTER refused once the pool is down).
	o := op{kind: k, phase: int16(m.phase.Load()), start: m.since(start), setup: setup, code: int16(out.Code),
		diag: int32(out.Diagnostic), noAnswer: out.NoAnswer, reason: out.Reason}
	if i, ok := m.userIndex[user]; ok {
		o.pool = int16(m.homeOf(i))
	}
	switch {
	case o.ok():
		m.ok[k].Add(1)
	case k == kRegister && (out.Code == 301 || out.Code == 302):
		o.redirected = true
	default:
		m.refused[k].Add(1)
	}
	m.mu.Lock()
	m.ops = append(m.ops, o)
	if !o.ok() && !o.redirected {
		key := refusalKey{phase: o.phase, kind: k, code: o.code, diag: o.diag, reason: o.reason}
		if _, seen := m.examples[key]; !seen {
			m.examples[key] = out.Warning
		}
	}
	m.mu.Unlock()
}

// stateChanged keeps the registered-by-mode counters as the phones learn their state.
func (m *metrics) stateChanged(from, to loadphone.Mode) {
	m.gauge(from).Add(-1)
	m.gauge(to).Add(1)
}

func (m *metrics) gauge(mode loadphone.Mode) *atomic.Int64 {
	switch mode {
	case loadphone.Normal:
		return &m.normal
	case loadphone.Resiliency:
		return &m.resiliency
	}
	return &m.offline
}

// tracker follows the users a disaster-recovery action took out of service (or left in
// resiliency mode) until each registers again where the deployment serves it now.
type tracker struct {
	phase    int
	what     string
	pool     int            // the users' home pool
	want     map[string]int // registrar address -> pool number that serves them now
	wantMode loadphone.Mode // Offline: any mode
	ref      time.Duration  // since the rehearsal started: when service could resume
	first    int            // index of the pool's first user
	backAt   []time.Duration
	back     int
}

func (m *metrics) track(t *tracker, users int) {
	t.backAt = make([]time.Duration, users)
	for i := range t.backAt {
		t.backAt[i] = -1
	}
	m.trackMu.Lock()
	m.trackers = append(m.trackers, t)
	m.trackMu.Unlock()
}

// registered notes a user's successful registration for the trackers.
func (m *metrics) registered(user, registrar string, mode loadphone.Mode, at time.Time) {
	i, ok := m.userIndex[user]
	if !ok {
		return
	}
	now := m.since(at)
	m.trackMu.Lock()
	defer m.trackMu.Unlock()
	for _, t := range m.trackers {
		j := i - t.first
		if j < 0 || j >= len(t.backAt) || t.backAt[j] >= 0 {
			continue
		}
		if _, ok := t.want[registrar]; !ok || (t.wantMode != loadphone.Offline && mode != t.wantMode) {
			continue
		}
		t.backAt[j] = now
		t.back++
	}
}

// sample takes the per-second figures: gauges now, and what succeeded and was refused
// since the last sample.
func (m *metrics) sample(now time.Time) Sample {
	s := Sample{T: m.since(now).Seconds(), Phase: int(m.phase.Load()),
		Normal: int(m.normal.Load()), Resiliency: int(m.resiliency.Load()), Offline: int(m.offline.Load()),
		CallsUp: int(m.callsUp.Load()), OK: map[string]int{}, Refused: map[string]int{}}
	m.sampleMu.Lock()
	defer m.sampleMu.Unlock()
	for k := range numKinds {
		ok, ref := m.ok[k].Load(), m.refused[k].Load()
		s.OK[k.String()], s.Refused[k.String()] = int(ok-m.lastOK[k]), int(ref-m.lastRefused[k])
		m.lastOK[k], m.lastRefused[k] = ok, ref
	}
	regs := m.registersSent.Load()
	s.RegistersSent = int(regs - m.lastRegisters)
	m.lastRegisters = regs
	m.samples = append(m.samples, s)
	return s
}
