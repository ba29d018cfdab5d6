package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// A load rehearsal (*.load.yaml, run by `pickupsim load`): a generated population, the
// traffic it makes, and a timeline of disaster-recovery phases run while the traffic
// flows, each with expectations. Unlike a scenario it runs on the wall clock, with the
// registrar failover timer compressed, because thousands of phones must really talk at
// once. The format is documented in scenarios/README.md ("Load rehearsals").

// RehearsalSuffix ends the name of every load rehearsal file; replay skips such files in
// folders.
const RehearsalSuffix = ".load.yaml"

// Rehearsal is one loaded load rehearsal file.
type Rehearsal struct {
	Name        string
	Description string
	File        string
	Population  Population
	Traffic     Traffic
	Phases      []Phase
}

// Population is the generated deployment and its phones.
type Population struct {
	Domain string
	// Pools is the number of pools, paired pool01<->pool02, pool03<->pool04, ...
	Pools        int
	UsersPerPool int
	// GroupSize makes Group Call Pickup groups of consecutive users of a pool; 0 means none.
	GroupSize int
	// TCP is the share (0..1) of phones that register over TCP.
	TCP                    float64
	RegistrarFailoverTimer time.Duration
	// RegisterRate is how many phones a second start registering at the beginning.
	RegisterRate float64
	// Refresh, Retry, Jitter and RequestTimeout shape how phones keep registered
	// (loadphone.KeepPolicy, loadphone.Config).
	Refresh, Retry, Jitter, RequestTimeout time.Duration
	// Sockets is how many UDP sockets the phones share.
	Sockets int
}

// Traffic is what the phones do while the timeline runs.
type Traffic struct {
	// Calls is the rate of new calls, per second.
	Calls float64
	// PickedUp and Parked are the shares (0..1) of calls a group member picks up, and that
	// the callee parks and someone retrieves; the rest are answered by the callee.
	PickedUp, Parked float64
	// Ring is how long a call rings before it is answered or picked up; Hold how long a
	// connected call lasts; ParkedFor how long a parked call waits for its retrieval.
	Ring, Hold, ParkedFor time.Duration
	// RTPCalls is how many established calls carry measured RTP, from the first phase to
	// the end of the rehearsal.
	RTPCalls int
}

// Phase is one stretch of the timeline: administrator actions at its start, then traffic
// for For, with expectations about what happened meanwhile.
type Phase struct {
	Name   string
	Line   int
	For    time.Duration
	Do     []Step
	Expect []LoadExpectation
}

// Operation kinds a rehearsal measures.
const (
	OpRegistrations = "registrations"
	OpCalls         = "calls"
	OpPickups       = "pickups"
	OpParks         = "parks"
	OpRetrievals    = "retrievals"
	OpHangups       = "hangups"
	OpRTP           = "rtp"
)

// OpKinds are the operations an expectation can name, in report order.
var OpKinds = []string{OpRegistrations, OpCalls, OpPickups, OpParks, OpRetrievals, OpHangups}

// LoadExpectation is one expectation of a phase about one kind of operation.
type LoadExpectation struct {
	Line int
	Text string
	Of   string // an OpKinds entry, or OpRTP
	// By keeps the operations started by users homed on this pool (an FQDN); "" keeps all.
	By string
	// Succeed compares the share of attempts that succeeded (in percent).
	Succeed *Comparison
	// Refused names a status code; Share compares the share of attempts refused with it
	// (every one when Share is nil).
	Refused int
	Share   *Comparison
	// P50 and P99 compare setup times of the successful attempts.
	P50, P99 *Comparison
	// Min is the least number of attempts for the expectation to mean anything (1 unless
	// given): a phase where nothing was tried fails rather than passes.
	Min int
	// BackWithin (registrations): every user a disaster-recovery action of the phase took
	// out of service was registered again at the pool that serves it within this long.
	BackWithin time.Duration
	// Lost and MaxGap (rtp) compare RTP packets lost on the measured calls, and the longest
	// pause in their media.
	Lost, MaxGap *Comparison
}

// Comparison is "op value": ">= 99.9%", "<= 500ms", "0".
type Comparison struct {
	Op    string // >=, <=, >, <, =
	Value float64
	// Unit is "%", "duration" (Value in seconds) or "" (a count).
	Unit string
	Text string
}

// Holds reports whether v satisfies the comparison.
func (c Comparison) Holds(v float64) bool {
	const eps = 1e-9
	switch c.Op {
	case ">=":
		return v >= c.Value-eps
	case "<=":
		return v <= c.Value+eps
	case ">":
		return v > c.Value
	case "<":
		return v < c.Value
	}
	return v > c.Value-eps && v < c.Value+eps
}

// rehearsalActions are the steps a phase may run at its start.
var rehearsalActions = []Kind{Outage, Recover, FailOver, FailOverComplete, FailBack, FailBackComplete, SetOrbit, SetCPS}

// LoadRehearsal reads and checks a load rehearsal file.
func LoadRehearsal(path string) (*Rehearsal, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseRehearsal(path, data)
}

// ParseRehearsal reads a load rehearsal from data; path names it in errors.
func ParseRehearsal(path string, data []byte) (*Rehearsal, error) {
	r := &reader{file: path}
	root, ok := r.document(data)
	if !ok {
		return nil, r.errs
	}
	m := r.mapping(root, "load rehearsal", "name", "description", "population", "traffic", "timeline")
	if m == nil || !r.require(root, m, "a load rehearsal", "population", "traffic", "timeline") {
		return nil, r.errs
	}
	rh := &Rehearsal{File: path, Name: r.str(m["name"], "name"), Description: r.str(m["description"], "description")}
	if rh.Name == "" {
		rh.Name = strings.TrimSuffix(filepath.Base(path), RehearsalSuffix)
	}
	rh.Population = r.readPopulation(m["population"])
	rh.Traffic = r.readTraffic(m["traffic"])
	if len(r.errs) > 0 {
		return nil, r.errs
	}
	c := newChecker(r, rh.Population.Topology())
	rh.Phases = c.readPhases(m["timeline"])
	if len(r.errs) > 0 {
		return nil, r.errs
	}
	return rh, nil
}

func (r *reader) readPopulation(n *yaml.Node) Population {
	m := r.mapping(n, "population", "domain", "pools", "usersPerPool", "groupSize", "tcp", "registrarFailoverTimer",
		"register", "refresh", "retry", "jitter", "requestTimeout", "sockets")
	p := Population{Domain: "contoso.com", Pools: 2, RegistrarFailoverTimer: 10 * time.Second, RegisterRate: 2000,
		Refresh: 30 * time.Second, Retry: 2 * time.Second, Jitter: time.Second, RequestTimeout: 2 * time.Second, Sockets: 32}
	if m == nil || !r.require(n, m, "population", "usersPerPool") {
		return p
	}
	if v := m["domain"]; v != nil {
		p.Domain = r.str(v, "domain")
	}
	p.Pools = r.bounded(m["pools"], "pools", p.Pools, 2, 18)
	if p.Pools%2 != 0 {
		r.errorf(m["pools"], "pools must be even: pools back each other up in pairs (pool01 and pool02, ...)")
	}
	p.UsersPerPool = r.bounded(m["usersPerPool"], "usersPerPool", 0, 1, 200_000)
	p.GroupSize = r.bounded(m["groupSize"], "groupSize", 0, 0, 100)
	if p.GroupSize > 0 && p.UsersPerPool/p.GroupSize > 9999 {
		r.errorf(m["groupSize"], "%d users in groups of %d make %d groups a pool, more than one orbit range holds (9,999): make the groups larger",
			p.UsersPerPool, p.GroupSize, p.UsersPerPool/p.GroupSize)
	}
	if v := m["tcp"]; v != nil {
		p.TCP = r.percent(v, "tcp")
	}
	for key, d := range map[string]*time.Duration{"registrarFailoverTimer": &p.RegistrarFailoverTimer, "refresh": &p.Refresh,
		"retry": &p.Retry, "jitter": &p.Jitter, "requestTimeout": &p.RequestTimeout} {
		if v := m[key]; v != nil {
			*d = r.duration(v, key)
			if *d <= 0 {
				r.errorf(v, "%s must be longer than 0", key)
			}
		}
	}
	if v := m["register"]; v != nil {
		p.RegisterRate = r.rate(v, "register")
	}
	p.Sockets = r.bounded(m["sockets"], "sockets", p.Sockets, 1, 1024)
	return p
}

func (r *reader) readTraffic(n *yaml.Node) Traffic {
	m := r.mapping(n, "traffic", "calls", "pickedUp", "parked", "ring", "hold", "parkedFor", "rtpCalls")
	t := Traffic{Ring: time.Second, Hold: 2 * time.Second, ParkedFor: time.Second}
	if m == nil || !r.require(n, m, "traffic", "calls") {
		return t
	}
	t.Calls = r.rate(m["calls"], "calls")
	if v := m["pickedUp"]; v != nil {
		t.PickedUp = r.percent(v, "pickedUp")
	}
	if v := m["parked"]; v != nil {
		t.Parked = r.percent(v, "parked")
	}
	if t.PickedUp+t.Parked > 1+1e-9 {
		r.errorf(n, "pickedUp and parked add up to more than 100%% of the calls")
	}
	for key, d := range map[string]*time.Duration{"ring": &t.Ring, "hold": &t.Hold, "parkedFor": &t.ParkedFor} {
		if v := m[key]; v != nil {
			*d = r.duration(v, key)
		}
	}
	t.RTPCalls = r.bounded(m["rtpCalls"], "rtpCalls", 0, 0, 2000)
	return t
}

// readPhases reads the timeline: a list of phases, each a mapping.
func (c *checker) readPhases(n *yaml.Node) []Phase {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		c.errorf(n, "timeline must be a non-empty list of phases")
		return nil
	}
	var out []Phase
	names := map[string]bool{}
	for _, pn := range n.Content {
		m := c.mapping(pn, "phase", "phase", "do", "for", "expect")
		if m == nil || !c.require(pn, m, "a phase", "phase", "for") {
			continue
		}
		ph := Phase{Name: c.str(m["phase"], "phase"), Line: pn.Line, For: c.duration(m["for"], "for")}
		if names[ph.Name] {
			c.errorf(m["phase"], "phase %q is named twice: reports tell phases apart by name", ph.Name)
		}
		names[ph.Name] = true
		if ph.For <= 0 {
			c.errorf(m["for"], "a phase must last longer than 0")
		}
		if d := m["do"]; d != nil {
			ph.Do = c.readActions(d)
		}
		if e := m["expect"]; e != nil {
			ph.Expect = c.readLoadExpectations(e)
		}
		out = append(out, ph)
	}
	return out
}

// readActions reads a phase's `do:` list: scenario steps, administrator actions only.
func (c *checker) readActions(n *yaml.Node) []Step {
	if n.Kind != yaml.SequenceNode {
		c.errorf(n, "do must be a list of actions (outage: pool01, failover: pool01, set-orbit: {...})")
		return nil
	}
	var out []Step
	for _, sn := range n.Content {
		s, ok := c.readStep(sn)
		if !ok {
			continue
		}
		if !slices.Contains(rehearsalActions, s.Kind) {
			c.errorf(sn, "%s is not an action a load rehearsal runs (want one of %s)", s.Kind, kindsText(rehearsalActions))
			continue
		}
		out = append(out, s)
	}
	return out
}

func kindsText(ks []Kind) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = string(k)
	}
	return strings.Join(parts, ", ")
}

// readLoadExpectations reads a phase's `expect:` list; each item names one operation kind.
func (c *checker) readLoadExpectations(n *yaml.Node) []LoadExpectation {
	if n.Kind != yaml.SequenceNode {
		c.errorf(n, "expect must be a list (- pickups: {succeed: \">= 99.9%%\"})")
		return nil
	}
	var out []LoadExpectation
	for _, en := range n.Content {
		if en.Kind != yaml.MappingNode || len(en.Content) != 2 {
			c.errorf(en, "an expectation is a mapping with one key, the operation (%s, %s)", strings.Join(OpKinds, ", "), OpRTP)
			continue
		}
		k, v := en.Content[0], en.Content[1]
		e := LoadExpectation{Line: k.Line, Text: stepText(en), Of: k.Value, Min: 1}
		switch {
		case k.Value == OpRTP:
			c.readRTPExpectation(v, &e)
		case k.Value == OpRegistrations:
			c.readOpExpectation(v, &e, "backWithin")
		case slices.Contains(OpKinds, k.Value):
			c.readOpExpectation(v, &e)
		default:
			c.errorf(k, "unknown operation %q in expect (want %s or %s)", k.Value, strings.Join(OpKinds, ", "), OpRTP)
			continue
		}
		out = append(out, e)
	}
	return out
}

func (c *checker) readOpExpectation(n *yaml.Node, e *LoadExpectation, extra ...string) {
	keys := append([]string{"by", "succeed", "refused", "share", "p50", "p99", "min"}, extra...)
	m := c.mapping(n, e.Of+" expectation", keys...)
	if m == nil {
		return
	}
	if v := m["by"]; v != nil {
		e.By = c.pool(v, c.pools, "by")
	}
	e.Succeed = c.comparison(m["succeed"], "succeed", "%")
	if v := m["refused"]; v != nil {
		e.Refused = c.integer(v, "refused")
		if e.Refused < 300 || e.Refused > 699 {
			c.errorf(v, "refused must be a SIP status code of a refusal (300-699), not %d", e.Refused)
		}
	}
	e.Share = c.comparison(m["share"], "share", "%")
	if e.Share != nil && e.Refused == 0 {
		c.errorf(m["share"], "share needs refused: the code whose share it compares")
	}
	e.P50 = c.comparison(m["p50"], "p50", "duration")
	e.P99 = c.comparison(m["p99"], "p99", "duration")
	if v := m["min"]; v != nil {
		e.Min = c.integer(v, "min")
	}
	if v := m["backWithin"]; v != nil {
		e.BackWithin = c.duration(v, "backWithin")
	}
	if e.Succeed == nil && e.Refused == 0 && e.P50 == nil && e.P99 == nil && e.BackWithin == 0 {
		c.errorf(n, "a %s expectation needs succeed, refused, p50 or p99%s", e.Of, map[bool]string{true: " or backWithin"}[len(extra) > 0])
	}
}

func (c *checker) readRTPExpectation(n *yaml.Node, e *LoadExpectation) {
	m := c.mapping(n, "rtp expectation", "lost", "maxGap")
	if m == nil {
		return
	}
	e.Lost = c.comparison(m["lost"], "lost", "")
	e.MaxGap = c.comparison(m["maxGap"], "maxGap", "duration")
	if e.Lost == nil && e.MaxGap == nil {
		c.errorf(n, "an rtp expectation needs lost or maxGap")
	}
}

// comparison reads "op value" with the unit given: "%" (">= 99.9%"), "duration"
// ("<= 500ms") or "" (a count: "0", "<= 10"). A bare value means "=".
func (r *reader) comparison(n *yaml.Node, what, unit string) *Comparison {
	if n == nil {
		return nil
	}
	s := strings.TrimSpace(r.str(n, what))
	c := &Comparison{Op: "=", Unit: unit, Text: s}
	for _, op := range []string{">=", "<=", "==", ">", "<", "="} {
		if rest, ok := strings.CutPrefix(s, op); ok {
			c.Op, s = op, strings.TrimSpace(rest)
			if op == "==" {
				c.Op = "="
			}
			break
		}
	}
	var err error
	switch unit {
	case "%":
		v, ok := strings.CutSuffix(s, "%")
		if !ok {
			err = fmt.Errorf("%s %q must be a share in percent (\">= 99.9%%\")", what, n.Value)
			break
		}
		c.Value, err = strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err == nil && (c.Value < 0 || c.Value > 100) {
			err = fmt.Errorf("%s %q is not between 0%% and 100%%", what, n.Value)
		}
	case "duration":
		var d time.Duration
		d, err = ParseDuration(s)
		c.Value = d.Seconds()
	default:
		c.Value, err = strconv.ParseFloat(s, 64)
	}
	if err != nil {
		r.errorf(n, "%s: %v (want an operator >=, <=, >, < or = and a value, like \">= 99.9%%\" or \"<= 500ms\")", what, err)
		return nil
	}
	return c
}

// percent reads "30%" as 0.3.
func (r *reader) percent(n *yaml.Node, what string) float64 {
	s := strings.TrimSpace(r.str(n, what))
	v, ok := strings.CutSuffix(s, "%")
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if !ok || err != nil || f < 0 || f > 100 {
		r.errorf(n, "%s %q must be a share between 0%% and 100%% (\"30%%\")", what, s)
		return 0
	}
	return f / 100
}

// rate reads "60/s" or "3000/min" as a rate per second.
func (r *reader) rate(n *yaml.Node, what string) float64 {
	s := strings.TrimSpace(r.str(n, what))
	num, per, ok := strings.Cut(s, "/")
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	unit := map[string]float64{"s": 1, "min": 60, "h": 3600}[strings.TrimSpace(per)]
	if !ok || err != nil || f < 0 || unit == 0 {
		r.errorf(n, "%s %q must be a rate like 60/s or 500/min", what, s)
		return 0
	}
	return f / unit
}

// bounded reads an optional whole number in [lo, hi], def when absent.
func (r *reader) bounded(n *yaml.Node, what string, def, lo, hi int) int {
	if n == nil {
		return def
	}
	v := r.integer(n, what)
	if v < lo || v > hi {
		r.errorf(n, "%s must be between %d and %d, not %d", what, lo, hi, v)
	}
	return v
}
