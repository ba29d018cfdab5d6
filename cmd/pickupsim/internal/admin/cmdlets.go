package admin

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// cmdlet is one administrator command. Names with "Cs" are Lync Server's own cmdlets;
// the others (a pool's outage and recovery, the completion of a failover or failback) are
// the simulator's, for what happens in Lync without a cmdlet.
type cmdlet struct {
	Name string
	// Positional is the parameter a bare first argument fills on the command line.
	Positional string
	Params     []string
	Synopsis   string
	// changes says the cmdlet changes the configuration kept in the topology file.
	changes bool
	run     func(n *sip.Network, p *params, name string) (any, error)
}

// Cmdlets lists every command the API accepts, sorted by name.
func Cmdlets() []cmdlet {
	out := make([]cmdlet, 0, len(cmdlets))
	for _, c := range cmdlets {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// lookupCmdlet finds a cmdlet by name, ignoring case as PowerShell does.
func lookupCmdlet(name string) (cmdlet, bool) {
	c, ok := cmdlets[strings.ToLower(name)]
	return c, ok
}

var cmdlets = map[string]cmdlet{}

func register(c cmdlet) {
	cmdlets[strings.ToLower(c.Name)] = c
}

func init() {
	dr := func(name, synopsis string, op func(n *sip.Network, pool string) error) {
		register(cmdlet{Name: name, Positional: "PoolFqdn", Params: []string{"PoolFqdn"}, Synopsis: synopsis, changes: true,
			run: func(n *sip.Network, p *params, cmd string) (any, error) {
				pool, _ := p.str("PoolFqdn", true)
				if err := p.check(cmd); err != nil {
					return nil, err
				}
				if err := op(n, pool); err != nil {
					return nil, err
				}
				return poolPhase(n, pool), nil
			}})
	}
	dr("Invoke-PoolOutage", "the pool stops answering (unplanned outage): sockets close, memory is lost", (*sip.Network).Outage)
	dr("Invoke-PoolRecovery", "the pool answers again on its address, with empty memory", (*sip.Network).Recover)
	register(cmdlet{Name: "Invoke-CsPoolFailOver", Positional: "PoolFqdn", Params: []string{"PoolFqdn", "DisasterMode"}, changes: true,
		Synopsis: "start failing the pool's users over to its backup pool: -DisasterMode for a pool that stopped answering, without it for one still running (maintenance)",
		run:      invokeFailOver}) // failover.go
	dr("Complete-PoolFailOver", "the failover started by Invoke-CsPoolFailOver finishes", (*sip.Network).CompleteFailOver)
	dr("Invoke-CsPoolFailBack", "start failing the pool's users back from its backup pool", (*sip.Network).InvokeFailBack)
	dr("Complete-PoolFailBack", "the failback started by Invoke-CsPoolFailBack finishes", (*sip.Network).CompleteFailBack)

	register(cmdlet{Name: "Get-CsCallParkOrbit", Positional: "Identity", Params: []string{"Identity"},
		Synopsis: "list the orbit ranges, or one", run: getOrbit})
	register(cmdlet{Name: "New-CsCallParkOrbit", Positional: "Identity", changes: true,
		Params:   []string{"Identity", "NumberRangeStart", "NumberRangeEnd", "CallParkService", "Type"},
		Synopsis: "create an orbit range (Type CallPark or GroupPickup)", run: newOrbit})
	register(cmdlet{Name: "Set-CsCallParkOrbit", Positional: "Identity", changes: true,
		Params:   []string{"Identity", "NumberRangeStart", "NumberRangeEnd", "CallParkService", "Type"},
		Synopsis: "change an orbit range, e.g. point it at the backup pool", run: setOrbit})
	register(cmdlet{Name: "Remove-CsCallParkOrbit", Positional: "Identity", Params: []string{"Identity"}, changes: true,
		Synopsis: "delete an orbit range", run: removeOrbit})
	register(cmdlet{Name: "Get-CsCpsConfiguration", Positional: "Identity", Params: []string{"Identity"},
		Synopsis: "show a pool's Call Park application settings", run: getCPS})
	register(cmdlet{Name: "Set-CsCpsConfiguration", Positional: "Identity", changes: true,
		Params:   []string{"Identity", "CallPickupTimeoutThreshold", "MaxCallPickupAttempts", "OnTimeoutURI", "EnableMusicOnHold"},
		Synopsis: "change a pool's Call Park application settings", run: setCPS})
	register(cmdlet{Name: "Get-CsGroupPickupUserOrbit", Positional: "User", Params: []string{"User"},
		Synopsis: "show a user's Group Call Pickup number", run: getPickup})
	register(cmdlet{Name: "New-CsGroupPickupUserOrbit", Positional: "User", Params: []string{"User", "Orbit"}, changes: true,
		Synopsis: "put a user in a pickup group (SEFAUtil /enablegrouppickup:<Orbit>)", run: newPickup})
	register(cmdlet{Name: "Remove-CsGroupPickupUserOrbit", Positional: "User", Params: []string{"User"}, changes: true,
		Synopsis: "take a user out of its pickup group (SEFAUtil /disablegrouppickup)", run: removePickup})
}

// PhaseResult is what a disaster-recovery cmdlet returns: the pool's phase afterwards.
type PhaseResult struct {
	PoolFqdn string `json:"PoolFqdn"`
	Phase    string `json:"Phase"`
	Up       bool   `json:"Up"`
}

// poolPhase is a pool's phase after a cmdlet, the pool named as the cmdlet took it.
func poolPhase(n *sip.Network, pool string) PhaseResult {
	pool = n.ResolvePool(pool)
	for _, ps := range n.Pools() {
		if ps.FQDN == pool {
			return PhaseResult{PoolFqdn: ps.FQDN, Phase: ps.Phase.String(), Up: ps.Up}
		}
	}
	return PhaseResult{PoolFqdn: pool}
}

func getOrbit(n *sip.Network, p *params, cmd string) (any, error) {
	id, given := p.str("Identity", false)
	if err := p.check(cmd); err != nil {
		return nil, err
	}
	out := []Orbit{}
	for _, r := range n.CallParkOrbits() {
		if !given || strings.EqualFold(r.Identity, id) {
			out = append(out, orbitJSON(r))
		}
	}
	if given && len(out) == 0 {
		return nil, fmt.Errorf("%w: Get-CsCallParkOrbit: no orbit range named %q", ErrBadRequest, id)
	}
	return out, nil
}

func rangeType(p *params) (park.RangeType, bool) {
	t, ok := p.str("Type", false)
	if !ok {
		return "", false
	}
	typ, err := park.ParseRangeType(t)
	if err != nil || t == "" {
		p.errorf("parameter -Type must be CallPark or GroupPickup, not %q", t)
		return "", false
	}
	return typ, true
}

func newOrbit(n *sip.Network, p *params, cmd string) (any, error) {
	var r park.OrbitRange
	r.Identity, _ = p.str("Identity", true)
	r.NumberRangeStart, _ = p.str("NumberRangeStart", true)
	r.NumberRangeEnd, _ = p.str("NumberRangeEnd", true)
	r.CallParkService, _ = p.str("CallParkService", true)
	r.Type, _ = rangeType(p) // none: CallPark, as New-CsCallParkOrbit defaults it
	if err := p.check(cmd); err != nil {
		return nil, err
	}
	if err := n.NewCallParkOrbit(r); err != nil {
		return nil, err
	}
	r, _ = n.CallParkOrbit(r.Identity) // as the orbit table keeps it
	return orbitJSON(r), nil
}

func setOrbit(n *sip.Network, p *params, cmd string) (any, error) {
	id, _ := p.str("Identity", true)
	var c park.OrbitChange
	if v, ok := p.str("NumberRangeStart", false); ok {
		c.NumberRangeStart = &v
	}
	if v, ok := p.str("NumberRangeEnd", false); ok {
		c.NumberRangeEnd = &v
	}
	if v, ok := p.str("CallParkService", false); ok {
		c.CallParkService = &v
	}
	if t, ok := rangeType(p); ok {
		c.Type = &t
	}
	if err := p.check(cmd); err != nil {
		return nil, err
	}
	if err := n.SetCallParkOrbit(id, c); err != nil { // an empty change is refused there
		return nil, err
	}
	return getOrbit(n, &params{vals: map[string]any{"identity": id}, seen: map[string]bool{}}, "Get-CsCallParkOrbit")
}

func removeOrbit(n *sip.Network, p *params, cmd string) (any, error) {
	id, _ := p.str("Identity", true)
	if err := p.check(cmd); err != nil {
		return nil, err
	}
	return nil, n.RemoveCallParkOrbit(id)
}

func getCPS(n *sip.Network, p *params, cmd string) (any, error) {
	id, _ := p.str("Identity", true)
	if err := p.check(cmd); err != nil {
		return nil, err
	}
	c, err := n.CpsConfiguration(id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return cpsJSON(c), nil
}

func setCPS(n *sip.Network, p *params, cmd string) (any, error) {
	id, _ := p.str("Identity", true)
	var ch park.CPSChange
	if v, ok := p.str("CallPickupTimeoutThreshold", false); ok {
		d, err := park.ParseTimeout(v)
		if err != nil {
			p.errorf("%v", err)
		}
		ch.CallPickupTimeoutThreshold = &d
	}
	if v, ok := p.integer("MaxCallPickupAttempts"); ok {
		ch.MaxCallPickupAttempts = &v
	}
	if v, ok := p.vals["ontimeouturi"]; ok && (v == nil || v == "$null" || v == "$Null") {
		none := "" // -OnTimeoutURI $Null: unretrieved calls are disconnected after the last ring-back
		ch.OnTimeoutURI, p.seen["ontimeouturi"] = &none, true
	} else if v, ok := p.str("OnTimeoutURI", false); ok {
		ch.OnTimeoutURI = &v
	}
	if v, ok := p.boolean("EnableMusicOnHold"); ok {
		ch.EnableMusicOnHold = &v
	}
	if err := p.check(cmd); err != nil {
		return nil, err
	}
	// One implementation of the cmdlet for the API, scenarios and Go callers: the change is
	// applied to the pool's current settings, so what is not named is kept.
	c, err := n.SetCpsConfiguration(id, ch)
	if err != nil {
		return nil, err
	}
	return cpsJSON(c), nil
}

// PickupAssignment is Get-CsGroupPickupUserOrbit's output.
type PickupAssignment struct {
	User  string `json:"User"`
	Orbit string `json:"Orbit"`
}

func getPickup(n *sip.Network, p *params, cmd string) (any, error) {
	u, _ := p.str("User", true)
	if err := p.check(cmd); err != nil {
		return nil, err
	}
	number, err := n.GroupPickupUserOrbit(u)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return PickupAssignment{User: topology.UserName(u), Orbit: number}, nil
}

func newPickup(n *sip.Network, p *params, cmd string) (any, error) {
	u, _ := p.str("User", true)
	number, _ := p.str("Orbit", true)
	if err := p.check(cmd); err != nil {
		return nil, err
	}
	if err := n.EnableGroupPickup(u, number); err != nil {
		return nil, err
	}
	return PickupAssignment{User: topology.UserName(u), Orbit: number}, nil
}

func removePickup(n *sip.Network, p *params, cmd string) (any, error) {
	u, _ := p.str("User", true)
	if err := p.check(cmd); err != nil {
		return nil, err
	}
	return nil, n.DisableGroupPickup(u)
}
