package scenario

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// topologyKeys are the keys of a topology mapping, inline or in a topology file.
var topologyKeys = []string{"domain", "registrarFailoverTimer", "autoRedirectOrbits", "pickupMembersOnly", "directedPickupPrefix", "phones", "pools", "users", "orbits"}

// readTopology reads a topology mapping and checks it, each problem at its line.
func (r *reader) readTopology(n *yaml.Node) topology.Topology {
	var t topology.Topology
	m := r.mapping(n, "topology", topologyKeys...)
	if m == nil {
		return t
	}
	t.Domain = r.str(m["domain"], "domain")
	if v := m["registrarFailoverTimer"]; v != nil {
		t.RegistrarFailoverTimer = r.duration(v, "registrarFailoverTimer")
	}
	if v := m["autoRedirectOrbits"]; v != nil {
		t.AutoRedirectOrbits = r.boolean(v, "autoRedirectOrbits")
	}
	if v := m["pickupMembersOnly"]; v != nil {
		t.PickupMembersOnly = r.boolean(v, "pickupMembersOnly")
	}
	if v := m["directedPickupPrefix"]; v != nil {
		t.DirectedPickupPrefix = r.str(v, "directedPickupPrefix")
	}
	if v := m["phones"]; v != nil {
		t.Phones = r.readPhones(v)
	}
	pools := r.readPools(m["pools"], n)
	t.Pools = pools
	names := poolNames(pools)
	t.Users = r.readUsers(m["users"], names)
	t.Orbits = r.readOrbits(m["orbits"], names)
	for i := range t.Pools {
		if b := t.Pools[i].Backup; b != "" {
			t.Pools[i].Backup = names.resolve(b)
		}
	}
	if len(r.errs) == 0 {
		if _, _, err := topology.New(t); err != nil {
			r.errorf(n, "%v", err)
		}
	}
	return t
}

// readPhones reads the simulated phones' settings: {rtpTimeout: 30s}.
func (r *reader) readPhones(n *yaml.Node) topology.PhoneSettings {
	var ps topology.PhoneSettings
	m := r.mapping(n, "phones", "rtpTimeout")
	if m == nil {
		return ps
	}
	if v := m["rtpTimeout"]; v != nil {
		if ps.RTPTimeout = r.duration(v, "rtpTimeout"); ps.RTPTimeout == 0 {
			r.errorf(v, "rtpTimeout 0: a phone hangs up a silent call after some time; leave the key out for the 30 s default")
		}
	}
	return ps
}

// poolSet resolves pool names: an FQDN, or its first label when that is unambiguous
// ("pool01" for "pool01.contoso.com").
type poolSet map[string]bool

func poolNames(pools []topology.Pool) poolSet {
	s := poolSet{}
	for _, p := range pools {
		s[p.FQDN] = true
	}
	return s
}

// resolve reads a pool's name as the cmdlets do (topology.ResolvePool).
func (s poolSet) resolve(name string) string { return topology.ResolvePool(sortedKeys(s), name) }

// pool resolves a pool name at n, reporting an unknown one.
func (r *reader) pool(n *yaml.Node, names poolSet, what string) string {
	name := r.str(n, what)
	if name == "" {
		return ""
	}
	f := names.resolve(name)
	if f == "" {
		r.errorf(n, "unknown pool %q in %s (pools: %s)", name, what, strings.Join(sortedKeys(names), ", "))
	}
	return f
}

func (r *reader) readPools(n, parent *yaml.Node) []topology.Pool {
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		r.errorf(orNode(n, parent), "topology needs a list of pools")
		return nil
	}
	var out []topology.Pool
	for _, pn := range n.Content {
		m := r.mapping(pn, "pool", "fqdn", "backup", "address", "cpsDisabled", "cps", "phase", "down")
		if m == nil {
			continue
		}
		if !r.require(pn, m, "pool", "fqdn") {
			continue
		}
		p := topology.Pool{FQDN: r.str(m["fqdn"], "fqdn"), Backup: r.str(m["backup"], "backup"), Address: r.str(m["address"], "address")}
		if v := m["cpsDisabled"]; v != nil {
			p.CPSDisabled = r.boolean(v, "cpsDisabled")
		}
		if v := m["cps"]; v != nil {
			c := r.readCPS(v, park.DefaultCPSConfig())
			p.CPS = &c
		}
		if v := m["phase"]; v != nil {
			ph, err := topology.ParsePhase(r.str(v, "phase"))
			if err != nil {
				r.errorf(v, "pool %s: %v", p.FQDN, err)
			}
			p.Phase = ph
		}
		if v := m["down"]; v != nil {
			p.Down = r.boolean(v, "down")
		}
		out = append(out, p)
	}
	names := poolNames(out)
	for i, pn := range n.Content {
		if i < len(out) && out[i].Backup != "" && names.resolve(out[i].Backup) == "" {
			r.errorf(pn, "pool %s: unknown backup pool %q", out[i].FQDN, out[i].Backup)
		}
	}
	return out
}

// cpsKeys are Set-CsCpsConfiguration's parameters, as scenario files spell them.
var cpsKeys = []string{"callPickupTimeoutThreshold", "maxCallPickupAttempts", "onTimeoutURI", "enableMusicOnHold"}

// readCPS reads CPS settings over base and checks them against Lync's bounds.
func (r *reader) readCPS(n *yaml.Node, base park.CPSConfig) park.CPSConfig {
	ch, ok := r.readCPSChange(n)
	if !ok {
		return base
	}
	c := ch.Apply(base)
	if err := c.Validate(); err != nil {
		r.errorf(n, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return c
}

// readCPSChange reads the Set-CsCpsConfiguration parameters a mapping names, and only
// those.
func (r *reader) readCPSChange(n *yaml.Node) (park.CPSChange, bool) {
	var ch park.CPSChange
	m := r.mapping(n, "cps settings", cpsKeys...)
	if m == nil {
		return ch, false
	}
	if v := m["callPickupTimeoutThreshold"]; v != nil {
		d := r.duration(v, "callPickupTimeoutThreshold")
		ch.CallPickupTimeoutThreshold = &d
	}
	if v := m["maxCallPickupAttempts"]; v != nil {
		k := r.integer(v, "maxCallPickupAttempts")
		ch.MaxCallPickupAttempts = &k
	}
	if v := m["onTimeoutURI"]; v != nil {
		u := "" // onTimeoutURI: null is -OnTimeoutURI $Null: no fallback
		if v.Tag != "!!null" {
			u = r.str(v, "onTimeoutURI")
		}
		ch.OnTimeoutURI = &u
	}
	if v := m["enableMusicOnHold"]; v != nil {
		b := r.boolean(v, "enableMusicOnHold")
		ch.EnableMusicOnHold = &b
	}
	return ch, true
}

func (r *reader) readUsers(n *yaml.Node, pools poolSet) []topology.User {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.errorf(n, "users must be a list")
		return nil
	}
	var out []topology.User
	seen := map[string]bool{}
	for _, un := range n.Content {
		r.refuseUnmodelled(un)
		m := r.mapping(un, "user", "name", "home", "pickup", "password", "privateLine")
		if m == nil || !r.require(un, m, "user", "name", "home") {
			continue
		}
		u := topology.User{Name: r.str(m["name"], "name"), HomePool: r.pool(m["home"], pools, "home"),
			PickupNumber: r.str(m["pickup"], "pickup"), Password: r.str(m["password"], "password"),
			PrivateLine: r.str(m["privateLine"], "privateLine")}
		if seen[u.Name] {
			r.errorf(un, "user %s is declared twice", u.Name)
		}
		seen[u.Name] = true
		out = append(out, u)
	}
	return out
}

// unmodelled are user settings Lync has and Group Call Pickup treats specially ("Plan for
// Group Call Pickup": calls forwarded on no answer leave the queue; calls routed to a
// delegate, team-call members or a Response Group, and calls from a Friends and Family
// contact, cannot be picked up) but the simulator does not model. A topology that gives one
// is refused, rather than quietly run without it.
var unmodelled = map[string]string{
	"forwardOnNoAnswer":   "call forwarding on no answer is not modelled: a call rings its user until it is answered, picked up, refused or cancelled (in Lync, a call forwarded on no answer leaves the pickup queue)",
	"callForwarding":      "call forwarding is not modelled",
	"simultaneousRing":    "simultaneous ringing is not modelled",
	"teamCall":            "team call is not modelled (Group Call Pickup cannot answer team-call legs)",
	"delegates":           "delegation is not modelled (Group Call Pickup cannot answer calls routed to a delegate)",
	"friendsAndFamily":    "privacy relationships are not modelled (Group Call Pickup cannot answer calls from a Friends and Family contact)",
	"privacyRelationship": "privacy relationships are not modelled (Group Call Pickup cannot answer calls from a Friends and Family contact)",
	"responseGroup":       "Response Group is not modelled (Group Call Pickup cannot answer calls routed to a response group)",
}

// refuseUnmodelled reports, and takes out of a user mapping, the settings the simulator
// does not model, each with what it would mean in Lync.
func (r *reader) refuseUnmodelled(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return
	}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if why, ok := unmodelled[k.Value]; ok {
			r.errorf(k, "user setting %s: %s", k.Value, why)
			continue
		}
		kept = append(kept, n.Content[i], n.Content[i+1])
	}
	n.Content = kept
}

// readOrbits reads the orbit table, checking each range against the rules of
// New-CsCallParkOrbit (number syntax, lengths, overlaps, sizes) at its own line.
func (r *reader) readOrbits(n *yaml.Node, pools poolSet) []park.OrbitRange {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.errorf(n, "orbits must be a list")
		return nil
	}
	table := park.NewOrbitTable()
	var out []park.OrbitRange
	for _, on := range n.Content {
		o, ok := r.readOrbit(on, func(v *yaml.Node, what string) string { return r.pool(v, pools, what) })
		if !ok {
			continue
		}
		if err := table.New(o); err != nil {
			r.errorf(on, "invalid orbit range: %v", err)
			continue
		}
		out = append(out, o)
	}
	return out
}

var orbitKeys = []string{"identity", "start", "end", "service", "type"}

// readOrbit reads one orbit range; pool resolves its CallParkService.
func (r *reader) readOrbit(n *yaml.Node, pool func(n *yaml.Node, what string) string) (park.OrbitRange, bool) {
	m := r.mapping(n, "orbit range", orbitKeys...)
	if m == nil || !r.require(n, m, "orbit range", "identity", "start", "end", "service") {
		return park.OrbitRange{}, false
	}
	o := park.OrbitRange{
		Identity:         r.str(m["identity"], "identity"),
		NumberRangeStart: r.str(m["start"], "start"),
		NumberRangeEnd:   r.str(m["end"], "end"),
		CallParkService:  pool(m["service"], "service"),
		Type:             park.RangeType(r.str(m["type"], "type")),
	}
	t, err := park.ParseRangeType(string(o.Type))
	if err != nil {
		r.errorf(m["type"], "%v", err)
		return o, false
	}
	o.Type = t
	return o, o.CallParkService != ""
}

func orNode(n, alt *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return alt
}

// describe is a short rendering of an orbit range for messages.
func describe(o park.OrbitRange) string {
	return fmt.Sprintf("%s %s-%s on %s", o.Identity, o.NumberRangeStart, o.NumberRangeEnd, o.CallParkService)
}
