package scenario

import (
	"go.yaml.in/yaml/v3"
)

// Steps of Call Park and transfer (README "Call Park"), and answering whatever rings a
// phone (a ring-back, a transferred call).

// park: {from: alice, call: c1, as: o1}
//
// The parker must be a party of the call; the park's name (as) stands for the orbit the
// call gets, in later dial, retrieve and expect steps.
func readPark(c *checker, n *yaml.Node, s *Step) {
	m := c.mapping(n, "park step", "from", "call", "as", "error")
	if m == nil || !c.require(n, m, "park step", "from", "call") {
		return
	}
	s.From = c.user(m["from"], "from")
	s.Call = c.call(m["call"], "call")
	if v := m["error"]; v != nil {
		s.Error = c.str(v, "error")
	}
	if v := m["as"]; v != nil {
		s.As = c.declare(v, c.parks)
	}
}

// retrieve: {from: carol, orbit: o1, as: r1} (orbit: a park's name, or an orbit number)
func readRetrieve(c *checker, n *yaml.Node, s *Step) {
	m := c.mapping(n, "retrieve step", "from", "orbit", "as", "error")
	if m == nil || !c.require(n, m, "retrieve step", "from", "orbit") {
		return
	}
	s.From = c.caller(m["from"], "from")
	s.To = c.orbitRef(m["orbit"], "orbit")
	s.As = c.name(m["as"])
	if v := m["error"]; v != nil {
		s.Error = c.str(v, "error")
	}
}

// orbitRef reads a park's name or a literal orbit number.
func (c *checker) orbitRef(n *yaml.Node, what string) string {
	ref := c.str(n, what)
	if ref != "" && !isNumber(ref) && !c.parks[ref] {
		c.errorf(n, "unknown park %q in %s: name it with `as: %s` on an earlier park step, or give an orbit number", ref, what, ref)
	}
	return ref
}

// transfer: {from: alice, call: c1, to: carol, as: t1}
//
// as names the transferred call: the other party's call to the target.
func readTransfer(c *checker, n *yaml.Node, s *Step) {
	m := c.mapping(n, "transfer step", "from", "call", "to", "as", "error")
	if m == nil || !c.require(n, m, "transfer step", "from", "call", "to") {
		return
	}
	s.From = c.user(m["from"], "from")
	s.Call = c.call(m["call"], "call")
	s.To = c.str(m["to"], "to")
	if s.To != "" && !isNumber(s.To) && !c.users[s.To] {
		c.errorf(m["to"], "transfer to %q: neither a user nor a number", s.To)
	}
	s.As = c.name(m["as"])
	if v := m["error"]; v != nil {
		s.Error = c.str(v, "error")
	}
}

// answer: c1 | {call: c1} | {user: alice, as: rb}
//
// The second form answers whatever rings the user's phone (a ring-back, a transferred or
// forwarded call) and names it.
func readAnswerStep(c *checker, n *yaml.Node, s *Step) {
	if n.Kind != yaml.MappingNode {
		readAnswer(c, n, s)
		return
	}
	m := c.mapping(n, "answer step", "call", "user", "as", "error")
	if m == nil {
		return
	}
	switch {
	case m["call"] != nil && (m["user"] != nil || m["as"] != nil):
		c.errorf(n, "answer step: give either call (a named call) or user (and as), not both")
	case m["call"] != nil:
		s.Call = c.call(m["call"], "call")
	case m["user"] != nil:
		s.User = c.user(m["user"], "user")
		s.As = c.name(m["as"])
	default:
		c.errorf(n, "answer step needs \"call\" or \"user\"")
	}
	if v := m["error"]; v != nil {
		s.Error = c.str(v, "error")
	}
}
