package scenario

import (
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// maxWait bounds a wait step: it costs real time.
const maxWait = 10 * time.Second

// expectKeys are the keys of an expect step: one subject, then checks.
var expectKeys = []string{"call", "user", "orbit", "queue", "pool", "orbit-number", "warnings",
	"state", "callee-state", "connected", "code", "diagnostic", "warning", "cancel-reason", "picked-up-by", "media", "reason",
	"mode", "registrar", "ringing", "owner", "length", "phase", "up", "cps", "active-calls",
	"number", "parked", "parker", "parkee", "parked-on", "parkee-state", "parkee-reason", "music-on-hold", "count", "lamp"}

// subjects are the keys that name what an expect step looks at.
var subjects = []string{"call", "user", "orbit", "queue", "pool", "orbit-number", "warnings"}

// checksBySubject lists the checks each subject allows.
var checksBySubject = map[string][]string{
	"call":         {"state", "callee-state", "connected", "code", "diagnostic", "warning", "cancel-reason", "picked-up-by", "media", "reason"},
	"user":         {"mode", "registrar", "ringing", "code", "diagnostic", "warning", "lamp"},
	"orbit":        {"owner"},
	"queue":        {"length"},
	"pool":         {"phase", "up", "cps", "active-calls"},
	"orbit-number": {"number", "parked", "parker", "parkee", "parked-on", "parkee-state", "parkee-reason", "music-on-hold", "code", "diagnostic", "warning"},
	"warnings":     {"count"},
}

// readExpect: {call: c1, state: established, connected: carol, media: flowing} and so on.
func readExpect(c *checker, n *yaml.Node, s *Step) {
	m := c.mapping(n, "expect step", expectKeys...)
	if m == nil {
		return
	}
	e := &Expectation{}
	s.Expect = e
	subject := ""
	for _, k := range subjects {
		if m[k] == nil {
			continue
		}
		if subject != "" {
			c.errorf(m[k], "expect has two subjects, %s and %s: use one expect step for each", subject, k)
			return
		}
		subject = k
	}
	if subject == "" {
		c.errorf(n, "expect needs a subject: %s", strings.Join(subjects, ", "))
		return
	}
	allowed := map[string]bool{subject: true}
	for _, k := range checksBySubject[subject] {
		allowed[k] = true
	}
	checks := 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !allowed[k.Value] {
			c.errorf(k, "expect on a %s cannot check %q (it checks %s)", subject, k.Value, strings.Join(checksBySubject[subject], ", "))
		} else if k.Value != subject {
			checks++
		}
	}
	if checks == 0 && subject != "warnings" { // the warnings subject is its own check
		c.errorf(n, "expect on a %s checks nothing: add one of %s", subject, strings.Join(checksBySubject[subject], ", "))
	}
	switch subject {
	case "call":
		e.Call = c.call(m["call"], "call")
	case "user":
		e.User = c.user(m["user"], "user")
		if v := m["lamp"]; v != nil {
			e.Lamp = c.readLamp(v, e.User) // steps_lamps.go
		}
	case "orbit":
		e.Orbit = c.str(m["orbit"], "orbit")
		if _, ok := c.orbits.Get(e.Orbit); !ok {
			c.errorf(m["orbit"], "unknown orbit range %q at this point", e.Orbit)
		}
	case "queue":
		e.Queue = c.str(m["queue"], "queue")
	case "pool":
		e.Pool = c.pool(m["pool"], c.pools, "pool")
	case "orbit-number":
		e.OrbitNumber = c.orbitRef(m["orbit-number"], "orbit-number")
		if isNumber(e.OrbitNumber) {
			for _, k := range []string{"code", "diagnostic", "warning"} {
				if m[k] != nil {
					c.errorf(m[k], "expect %s on orbit number %s: a refusal is checked on the name of a park step (as)", k, e.OrbitNumber)
				}
			}
		}
	case "warnings":
		e.Warnings = c.str(m["warnings"], "warnings")
	}
	c.readChecks(m, e)
	c.readParkChecks(m, e)
}

// readParkChecks reads the checks on an orbit number, a pool's CPS settings, a phone's
// ringing and the warnings' count.
func (c *checker) readParkChecks(m map[string]*yaml.Node, e *Expectation) {
	e.Number = c.str(m["number"], "number")
	if v := m["parked"]; v != nil {
		b := c.boolean(v, "parked")
		e.Parked = &b
	}
	if v := m["parker"]; v != nil {
		e.Parker = c.user(v, "parker")
	}
	if v := m["parkee"]; v != nil {
		e.Parkee = c.user(v, "parkee")
	}
	if v := m["parked-on"]; v != nil {
		e.ParkedOn = c.pool(v, c.pools, "parked-on")
	}
	e.ParkeeState = c.callState(m["parkee-state"], "parkee-state")
	e.ParkeeReason = c.str(m["parkee-reason"], "parkee-reason")
	if v := m["music-on-hold"]; v != nil {
		b := c.boolean(v, "music-on-hold")
		e.MusicOnHold = &b
	}
	if v := m["count"]; v != nil {
		k := c.integer(v, "count")
		e.WarningCount = &k
	}
	if v := m["ringing"]; v != nil {
		if e.Ringing = c.str(v, "ringing"); e.Ringing != RingingNobody {
			e.Ringing = c.user(v, "ringing")
		}
	}
	if v := m["cps"]; v != nil {
		cfg := park.DefaultCPSConfig()
		if v.Kind == yaml.ScalarNode {
			if s := c.str(v, "cps"); s != "default" {
				c.errorf(v, "cps %q: want \"default\" or a mapping of %s", s, strings.Join(cpsKeys, ", "))
			}
		} else {
			cfg = c.readCPS(v, cfg)
		}
		e.CPS = &cfg
	}
}

func (c *checker) readChecks(m map[string]*yaml.Node, e *Expectation) {
	e.State = c.callState(m["state"], "state")
	e.CalleeState = c.callState(m["callee-state"], "callee-state")
	if v := m["connected"]; v != nil {
		e.Connected = c.caller(v, "connected")
	}
	if v := m["code"]; v != nil {
		e.Code = c.integer(v, "code")
	}
	if v := m["diagnostic"]; v != nil {
		e.Diagnostic = c.integer(v, "diagnostic")
	}
	e.Warning = c.str(m["warning"], "warning")
	e.CancelReason = c.str(m["cancel-reason"], "cancel-reason")
	e.EndReason = c.str(m["reason"], "reason")
	if v := m["picked-up-by"]; v != nil {
		e.PickedUpBy = c.user(v, "picked-up-by")
	}
	if v := m["media"]; v != nil {
		if s := c.str(v, "media"); s != "flowing" {
			c.errorf(v, "media %q: the only media check is \"flowing\" (packets both ways, no loss beyond the network's)", s)
		}
		e.Media = true
	}
	if v := m["mode"]; v != nil {
		md, err := topology.ParseMode(c.str(v, "mode"))
		if err != nil {
			c.errorf(v, "%v", err)
		}
		e.Mode = &md
	}
	if v := m["registrar"]; v != nil {
		e.Registrar = c.pool(v, c.pools, "registrar")
	}
	if v := m["owner"]; v != nil {
		e.Owner = c.pool(v, c.pools, "owner")
	}
	if v := m["length"]; v != nil {
		l := c.integer(v, "length")
		e.Length = &l
	}
	if v := m["phase"]; v != nil {
		p, err := topology.ParsePhase(c.str(v, "phase"))
		if err != nil {
			c.errorf(v, "%v", err)
		}
		e.Phase = &p
	}
	if v := m["up"]; v != nil {
		b := c.boolean(v, "up")
		e.Up = &b
	}
	if v := m["active-calls"]; v != nil {
		k := c.integer(v, "active-calls")
		e.ActiveCalls = &k
	}
}

func (c *checker) callState(n *yaml.Node, what string) *phone.CallState {
	if n == nil {
		return nil
	}
	st, err := phone.ParseCallState(c.str(n, what))
	if err != nil {
		c.errorf(n, "%s: %v", what, err)
	}
	return &st
}
