package scenario

import (
	"errors"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// checker knows what a step may refer to at its point of the timeline: the topology's
// users, the pools as earlier steps left them (add-pool adds one; a removed pool's name
// still resolves, for reassign-orbits), the calls and parks named by earlier steps, and the
// orbit table as the earlier cmdlets left it (so an invalid range or an unknown identity is
// caught before anything runs).
type checker struct {
	*reader
	users map[string]bool
	// outsiders are the scenario's phones from outside the enterprise: they call, dial and
	// pick up (to be refused), but do not register and cannot be called.
	outsiders map[string]bool
	pools     poolSet
	calls     map[string]bool
	parks     map[string]bool
	orbits    *park.OrbitTable
	watching  map[string]map[string]bool // busy lamp keys, by watcher (steps_lamps.go)
}

func newChecker(r *reader, t topology.Topology) *checker {
	c := &checker{reader: r, users: map[string]bool{}, outsiders: map[string]bool{}, pools: poolNames(t.Pools), calls: map[string]bool{},
		parks: map[string]bool{}, orbits: park.NewOrbitTable(), watching: map[string]map[string]bool{}}
	for _, u := range t.Users {
		c.users[u.Name] = true
	}
	for _, o := range t.Orbits {
		_ = c.orbits.New(o) // already checked with the topology
	}
	return c
}

func (c *checker) user(n *yaml.Node, what string) string {
	name := c.str(n, what)
	if name != "" && !c.users[name] {
		c.errorf(n, "unknown user %q in %s (users: %s)", name, what, strings.Join(sortedKeys(c.users), ", "))
	}
	return name
}

func (c *checker) call(n *yaml.Node, what string) string {
	name := c.str(n, what)
	if name != "" && !c.calls[name] {
		c.errorf(n, "unknown call %q in %s: name it with `as: %s` on an earlier call, dial or pickup step", name, what, name)
	}
	return name
}

// caller reads the phone that places a call: a user's, or an outsider's.
func (c *checker) caller(n *yaml.Node, what string) string {
	name := c.str(n, what)
	if name != "" && c.outsiders[name] {
		return name
	}
	return c.user(n, what)
}

// poolAt resolves the pool an action step names. A step that expects an error (`error:`)
// may name a pool that does not exist, so that a rehearsal can drill an administrator's
// typo: the name is passed on as written, and the step checks the refusal the cmdlet gives
// at run time.
func (c *checker) poolAt(n *yaml.Node, s *Step, what string) string {
	if s.Error != "" {
		name := c.str(n, what)
		if f := c.pools.resolve(name); f != "" {
			return f
		}
		return name
	}
	return c.pool(n, c.pools, what)
}

// userAt is poolAt for a user an administrator's step names, read as the cmdlets read
// one (topology.UserName: "bob", "sip:bob@contoso.com").
func (c *checker) userAt(n *yaml.Node, s *Step, what string) string {
	name := topology.UserName(c.str(n, what))
	if s.Error == "" && name != "" && !c.users[name] {
		c.errorf(n, "unknown user %q in %s (users: %s)", name, what, strings.Join(sortedKeys(c.users), ", "))
	}
	return name
}

// name declares a call name with `as`.
func (c *checker) name(n *yaml.Node) string {
	return c.declare(n, c.calls)
}

// declare adds the name given by `as` to set. Calls and parks share one namespace, apart
// from the users', since dial and retrieve accept a user, a park or a number.
func (c *checker) declare(n *yaml.Node, set map[string]bool) string {
	name := c.str(n, "as")
	if name == "" {
		return ""
	}
	switch {
	case c.calls[name] || c.parks[name]:
		c.errorf(n, "call name %q is already used by an earlier step", name)
	case c.users[name]:
		c.errorf(n, "name %q is a user's name: pick another", name)
	case c.outsiders[name]:
		c.errorf(n, "name %q is an outsider's name: pick another", name)
	case isNumber(name):
		c.errorf(n, "name %q looks like a number: pick a name that does not", name)
	}
	set[name] = true
	return name
}

// readSteps reads the timeline.
func (c *checker) readSteps(n *yaml.Node) []Step {
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		c.errorf(n, "steps must be a non-empty list")
		return nil
	}
	var out []Step
	for _, sn := range n.Content {
		if s, ok := c.readStep(sn); ok {
			out = append(out, s)
		}
	}
	return out
}

func (c *checker) readStep(n *yaml.Node) (Step, bool) {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		c.errorf(n, "a step is a mapping with exactly one key, the step kind (%s)", kindList())
		return Step{}, false
	}
	k, v := n.Content[0], n.Content[1]
	s := Step{Kind: Kind(k.Value), File: c.file, Line: k.Line, Text: stepText(n)}
	read, ok := stepReaders[s.Kind]
	if !ok {
		c.errorf(k, "unknown step %q (want one of %s)", k.Value, kindList())
		return Step{}, false
	}
	before := len(c.errs)
	read(c, v, &s)
	return s, len(c.errs) == before
}

// uncommented is a deep copy of n without comments.
func uncommented(n *yaml.Node) *yaml.Node {
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = uncommented(k)
	}
	return &c
}

func kindList() string {
	parts := make([]string, len(Kinds))
	for i, k := range Kinds {
		parts[i] = string(k)
	}
	return strings.Join(parts, ", ")
}

// stepText renders a step on one line, flow style, for reports, without the comments
// around it.
func stepText(n *yaml.Node) string {
	c := uncommented(n)
	c.Style = yaml.FlowStyle
	b, err := yaml.Marshal(c)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\n", " "))
}

// stepReaders reads each kind's value into a Step.
var stepReaders = map[Kind]func(c *checker, n *yaml.Node, s *Step){
	Register:         readRegister,
	Call:             readCall,
	Dial:             readCall,
	Pickup:           readCall,
	Answer:           readAnswerStep,
	Reject:           readAnswer,
	Hangup:           readAnswer,
	Outage:           readPoolStep,
	Recover:          readPoolStep,
	FailOver:         readPoolStep,
	FailOverComplete: readPoolStep,
	FailBack:         readPoolStep,
	FailBackComplete: readPoolStep,
	NewOrbit:         readNewOrbit,
	SetOrbit:         readSetOrbit,
	RemoveOrbit:      readRemoveOrbit,
	SetCPS:           readSetCPS,
	EnablePickup:     readEnablePickup,
	DisablePickup:    readDisablePickup,
	Park:             readPark,
	Retrieve:         readRetrieve,
	Transfer:         readTransfer,
	AddPool:          readAddPool,
	MoveUsers:        readPoolPair,
	RemovePool:       readPoolStep,
	PairPools:        readPairPools,
	ReassignOrbits:   readPoolPair,
	Subscribe:        readSubscribe,
	Unsubscribe:      readSubscribe,
	DirectedPickup:   readDirectedPickup,
	Advance:          readDuration,
	Wait:             readDuration,
	Expect:           readExpect,
}

// scalarOr reads a step whose value is either one scalar (the main argument) or a mapping
// with the given keys plus "error". It returns the mapping, with the scalar under main.
func (c *checker) scalarOr(n *yaml.Node, s *Step, main string, keys ...string) map[string]*yaml.Node {
	if n.Kind == yaml.ScalarNode || (main == "users" && n.Kind == yaml.SequenceNode) {
		return map[string]*yaml.Node{main: n}
	}
	m := c.mapping(n, string(s.Kind)+" step", append(keys, "error")...)
	if m == nil {
		return nil
	}
	if v := m["error"]; v != nil {
		s.Error = c.str(v, "error")
	}
	return m
}

// register: alice | [alice, bob] | {users: [alice], error: "..."}
func readRegister(c *checker, n *yaml.Node, s *Step) {
	m := c.scalarOr(n, s, "users", "users")
	if m == nil || !c.require(n, m, "register step", "users") {
		return
	}
	s.Users = c.strs(m["users"], "users")
	for i, u := range s.Users {
		if c.outsiders[u] {
			c.errorf(m["users"], "%s is outside the enterprise: outsiders do not register", u)
			continue
		}
		if !c.users[u] {
			node := m["users"]
			if node.Kind == yaml.SequenceNode && i < len(node.Content) {
				node = node.Content[i]
			}
			c.errorf(node, "unknown user %q in register (users: %s)", u, strings.Join(sortedKeys(c.users), ", "))
		}
	}
}

// call/dial/pickup: {from: alice, to: bob, as: c1}
func readCall(c *checker, n *yaml.Node, s *Step) {
	keys := []string{"from", "to", "as", "error"}
	if s.Kind == Pickup {
		keys = append(keys, "callerHangsUp")
	}
	m := c.mapping(n, string(s.Kind)+" step", keys...)
	if m == nil || !c.require(n, m, string(s.Kind)+" step", "from", "to") {
		return
	}
	s.From = c.caller(m["from"], "from")
	switch s.Kind {
	case Call:
		s.To = c.user(m["to"], "to")
	default:
		s.To = c.str(m["to"], "to")
		if s.Kind == Pickup && !isNumber(s.To) {
			c.errorf(m["to"], "pickup needs a group call pickup number in to, got %q", s.To)
		}
		if s.Kind == Dial && !isNumber(s.To) && !c.users[s.To] && !c.parks[s.To] {
			c.errorf(m["to"], "dial to %q: neither a user, a number, nor a park named by an earlier park step", s.To)
		}
	}
	s.As = c.name(m["as"])
	if v := m["error"]; v != nil {
		s.Error = c.str(v, "error")
	}
	if v := m["callerHangsUp"]; v != nil {
		s.CallerHangsUp = c.str(v, "callerHangsUp")
		if s.CallerHangsUp != "before-answer" && s.CallerHangsUp != "after-answer" {
			c.errorf(v, "callerHangsUp %q: want before-answer (the caller's CANCEL wins) or after-answer (the 200 crosses it)", s.CallerHangsUp)
		}
	}
}

func isNumber(s string) bool {
	s = strings.TrimLeft(s, "*#")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// answer: c1 | reject: {call: c1, code: 603, reason: Decline} | hangup: {call: c1, by: bob}
func readAnswer(c *checker, n *yaml.Node, s *Step) {
	keys := []string{"call"}
	switch s.Kind {
	case Reject:
		keys = append(keys, "code", "reason")
	case Hangup:
		keys = append(keys, "by")
	}
	m := c.scalarOr(n, s, "call", keys...)
	if m == nil || !c.require(n, m, string(s.Kind)+" step", "call") {
		return
	}
	s.Call = c.call(m["call"], "call")
	if v := m["by"]; v != nil {
		s.By = c.caller(v, "by")
	}
	if s.Kind == Reject {
		s.Code, s.Reason = 486, "Busy Here"
		if v := m["code"]; v != nil {
			s.Code = c.integer(v, "code")
			s.Reason = ""
			if s.Code < 300 || s.Code > 699 {
				c.errorf(v, "reject code %d is not a final error status (300-699)", s.Code)
			}
		}
		if v := m["reason"]; v != nil {
			s.Reason = c.str(v, "reason")
		}
	}
}

// outage: pool01.contoso.com | {pool: pool01, error: "..."}
// failover: pool01 (Invoke-CsPoolFailOver -DisasterMode) | {pool: pool01, disasterMode: false}
func readPoolStep(c *checker, n *yaml.Node, s *Step) {
	keys := []string{"pool"}
	if s.Kind == FailOver {
		keys = append(keys, "disasterMode")
	}
	m := c.scalarOr(n, s, "pool", keys...)
	if m == nil || !c.require(n, m, string(s.Kind)+" step", "pool") {
		return
	}
	s.Pool = c.poolAt(m["pool"], s, "pool")
	if v := m["disasterMode"]; v != nil {
		s.Planned = !c.boolean(v, "disasterMode")
	}
}

// new-orbit: {identity, start, end, service, type}
func readNewOrbit(c *checker, n *yaml.Node, s *Step) {
	if n.Kind != yaml.MappingNode {
		c.errorf(n, "new-orbit step must be a mapping of %s", strings.Join(orbitKeys, ", "))
		return
	}
	rest := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "error" {
			s.Error = c.str(n.Content[i+1], "error")
			continue
		}
		rest.Content = append(rest.Content, n.Content[i], n.Content[i+1])
	}
	o, ok := c.readOrbit(rest, func(v *yaml.Node, what string) string { return c.poolAt(v, s, what) })
	if !ok {
		return
	}
	s.Orbit = o
	if err := c.orbits.New(o); err != nil && s.Error == "" {
		c.errorf(n, "invalid orbit range: %v", err)
	}
}

// set-orbit: {identity, start?, end?, service?, type?}
func readSetOrbit(c *checker, n *yaml.Node, s *Step) {
	m := c.scalarOr(n, s, "identity", orbitKeys...)
	if m == nil || !c.require(n, m, "set-orbit step", "identity") {
		return
	}
	s.Identity = c.str(m["identity"], "identity")
	if v := m["start"]; v != nil {
		x := c.str(v, "start")
		s.Change.NumberRangeStart = &x
	}
	if v := m["end"]; v != nil {
		x := c.str(v, "end")
		s.Change.NumberRangeEnd = &x
	}
	if v := m["service"]; v != nil {
		x := c.poolAt(v, s, "service")
		s.Change.CallParkService = &x
	}
	if v := m["type"]; v != nil {
		t, err := park.ParseRangeType(c.str(v, "type"))
		if err != nil {
			c.errorf(v, "%v", err)
		}
		s.Change.Type = &t
	}
	// The orbit table decides, as Set-CsCallParkOrbit does; an empty change is refused in
	// the file's words.
	switch err := c.orbits.Set(s.Identity, s.Change); {
	case errors.Is(err, park.ErrNoChange):
		c.errorf(n, "set-orbit %s changes nothing: give start, end, service or type", s.Identity)
	case err != nil && s.Error == "":
		c.errorf(n, "%v", err)
	}
}

// remove-orbit: identity
func readRemoveOrbit(c *checker, n *yaml.Node, s *Step) {
	m := c.scalarOr(n, s, "identity", "identity")
	if m == nil || !c.require(n, m, "remove-orbit step", "identity") {
		return
	}
	s.Identity = c.str(m["identity"], "identity")
	if err := c.orbits.Remove(s.Identity); err != nil && s.Error == "" {
		c.errorf(n, "%v", err)
	}
}

// set-cps: {pool, callPickupTimeoutThreshold?, maxCallPickupAttempts?, onTimeoutURI?, enableMusicOnHold?}
// Like Set-CsCpsConfiguration, the step changes the settings it names and keeps the others.
func readSetCPS(c *checker, n *yaml.Node, s *Step) {
	m := c.mapping(n, "set-cps step", append(cpsKeys, "pool", "error")...)
	if m == nil || !c.require(n, m, "set-cps step", "pool") {
		return
	}
	if v := m["error"]; v != nil {
		s.Error = c.str(v, "error")
	}
	s.Pool = c.poolAt(m["pool"], s, "pool")
	settings := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; k != "pool" && k != "error" {
			settings.Content = append(settings.Content, n.Content[i], n.Content[i+1])
		}
	}
	s.CPS, _ = c.readCPSChange(settings)
	if s.CPS.Empty() {
		c.errorf(n, "set-cps changes nothing: give one of %s", strings.Join(cpsKeys, ", "))
		return
	}
	// Each bound is checked on its own, so the defaults stand in for the pool's settings.
	if err := s.CPS.Apply(park.DefaultCPSConfig()).Validate(); err != nil && s.Error == "" {
		c.errorf(n, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
}

// enable-pickup: {user: alice, number: 100}
func readEnablePickup(c *checker, n *yaml.Node, s *Step) {
	m := c.mapping(n, "enable-pickup step", "user", "number", "error")
	if m == nil || !c.require(n, m, "enable-pickup step", "user", "number") {
		return
	}
	if v := m["error"]; v != nil {
		s.Error = c.str(v, "error")
	}
	s.User = c.userAt(m["user"], s, "user")
	s.Number = c.str(m["number"], "number")
	if _, err := topology.GroupPickupRange(c.orbits, s.Number); s.Error == "" && err != nil {
		c.errorf(m["number"], "enable-pickup: %s is not in any GroupPickup orbit range at this point", s.Number)
	}
}

// disable-pickup: alice
func readDisablePickup(c *checker, n *yaml.Node, s *Step) {
	m := c.scalarOr(n, s, "user", "user")
	if m == nil || !c.require(n, m, "disable-pickup step", "user") {
		return
	}
	s.User = c.userAt(m["user"], s, "user")
}

// advance: 5m | wait: 200ms
func readDuration(c *checker, n *yaml.Node, s *Step) {
	s.Duration = c.duration(n, string(s.Kind))
	if s.Kind == Wait && s.Duration > maxWait {
		c.errorf(n, "wait %s is real time: at most %s (use advance for virtual time)", s.Duration, maxWait)
	}
}
