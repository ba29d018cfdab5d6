package scenario

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// Steps that replace a pool with a new FQDN (README "Replacing a pool with a new FQDN"):
// Topology Builder's add and remove, Move-CsUser, backup pairing, and Set-CsCallParkOrbit
// on every range of the old pool. Later steps may name a pool added here.

// add-pool: pool03.contoso.com | {fqdn: pool03.contoso.com, address: 127.0.0.1:5080}
func readAddPool(c *checker, n *yaml.Node, s *Step) {
	m := c.scalarOr(n, s, "fqdn", "fqdn", "address")
	if m == nil || !c.require(n, m, "add-pool step", "fqdn") {
		return
	}
	s.NewPool.FQDN = c.str(m["fqdn"], "fqdn")
	s.NewPool.Address = c.str(m["address"], "address")
	f := s.NewPool.FQDN
	switch {
	case f == "":
		return
	case f != strings.ToLower(strings.TrimSpace(f)) || !strings.Contains(f, "."):
		c.errorf(m["fqdn"], "add-pool: %q is not a fully qualified domain name in lower case (pool03.contoso.com)", f)
		return
	case c.pools[f] && s.Error == "":
		c.errorf(m["fqdn"], "add-pool: pool %s already exists at this point", f)
	}
	c.pools[f] = true
}

// move-users: {from: pool01, to: pool03} | reassign-orbits: {from: pool01, to: pool03}
func readPoolPair(c *checker, n *yaml.Node, s *Step) {
	what := string(s.Kind) + " step"
	m := c.mapping(n, what, "from", "to", "error")
	if m == nil || !c.require(n, m, what, "from", "to") {
		return
	}
	if v := m["error"]; v != nil {
		s.Error = c.str(v, "error")
	}
	s.FromPool = c.poolAt(m["from"], s, "from")
	s.ToPool = c.poolAt(m["to"], s, "to")
	if s.Kind != ReassignOrbits || s.FromPool == "" || s.ToPool == "" {
		return
	}
	if _, err := c.orbits.Reassign(s.FromPool, s.ToPool, ""); err != nil && s.Error == "" {
		c.errorf(n, "%v", err)
	}
}

// pair-pools: [pool03, pool02] | {pools: [pool03, pool02], error: "..."}
func readPairPools(c *checker, n *yaml.Node, s *Step) {
	node := n
	if n.Kind == yaml.MappingNode {
		m := c.mapping(n, "pair-pools step", "pools", "error")
		if m == nil || !c.require(n, m, "pair-pools step", "pools") {
			return
		}
		if v := m["error"]; v != nil {
			s.Error = c.str(v, "error")
		}
		node = m["pools"]
	}
	if node.Kind != yaml.SequenceNode || len(node.Content) != 2 {
		c.errorf(node, "pair-pools needs a list of two pools: [pool03, pool02]")
		return
	}
	s.FromPool = c.poolAt(node.Content[0], s, "pair-pools")
	s.ToPool = c.poolAt(node.Content[1], s, "pair-pools")
}
