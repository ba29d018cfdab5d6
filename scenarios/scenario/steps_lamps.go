package scenario

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pickupsim/pickupsim/sip/dialoginfo"
)

// Busy lamps (RFC 4235) and directed pickup (issue 13): a phone's keys subscribe to a
// colleague, an orbit, a CallPark range or a group number; a directed pickup answers the
// call ringing a colleague, by the feature code or by Replaces from the picker's lamp.

// lampStates are the states an expect step may ask a lamp to show.
var lampStates = []string{dialoginfo.Trying, dialoginfo.Proceeding, dialoginfo.Early, dialoginfo.Confirmed,
	dialoginfo.Terminated, dialoginfo.Unknown}

// watchable reports whether target may be a lamp's: a user, a number (an orbit or a group
// pickup number), or a CallPark range's identity known at this point. The pools decide the
// rest (a number that is neither orbit nor group is refused with 404 at run time).
func (c *checker) watchable(target string) bool {
	if c.users[target] || isNumber(target) {
		return true
	}
	_, ok := c.orbits.Get(target)
	return ok
}

// subscribe: {user: erin, watch: [bob, 100, 7000]} | unsubscribe: {user: erin, watch: bob}
func readSubscribe(c *checker, n *yaml.Node, s *Step) {
	what := string(s.Kind) + " step"
	m := c.mapping(n, what, "user", "watch", "error")
	if m == nil || !c.require(n, m, what, "user", "watch") {
		return
	}
	s.User = c.user(m["user"], "user")
	s.Watch = c.strs(m["watch"], "watch")
	if v := m["error"]; v != nil {
		s.Error = c.str(v, "error")
	}
	keys := c.watching[s.User]
	if keys == nil {
		keys = map[string]bool{}
		c.watching[s.User] = keys
	}
	for _, t := range s.Watch {
		switch {
		case !c.watchable(t) && s.Error == "":
			c.errorf(m["watch"], "%s watches %q: neither a user, a number, nor a CallPark range identity", s.User, t)
		case s.Kind == Unsubscribe && !keys[t] && s.Error == "":
			c.errorf(m["watch"], "%s unsubscribes from %q, which no earlier subscribe step watches", s.User, t)
		case s.Kind == Subscribe:
			keys[t] = true
		default:
			delete(keys, t)
		}
	}
}

// directed-pickup: {from: carol, to: bob, as: p1} | {from: carol, to: bob, by: replaces, as: p1}
func readDirectedPickup(c *checker, n *yaml.Node, s *Step) {
	m := c.mapping(n, "directed-pickup step", "from", "to", "by", "as", "error")
	if m == nil || !c.require(n, m, "directed-pickup step", "from", "to") {
		return
	}
	s.From = c.caller(m["from"], "from")
	s.To = c.user(m["to"], "to")
	s.As = c.name(m["as"])
	if v := m["error"]; v != nil {
		s.Error = c.str(v, "error")
	}
	if v := m["by"]; v != nil {
		switch by := c.str(v, "by"); by {
		case "code":
		case "replaces":
			s.ByReplaces = true
			if !c.watching[s.From][s.To] && s.Error == "" {
				c.errorf(v, "%s picks up by Replaces from its lamp of %s: subscribe to %s first (subscribe: {user: %s, watch: %s})",
					s.From, s.To, s.To, s.From, s.To)
			}
		default:
			c.errorf(v, "by %q: want code (dial the directed pickup code) or replaces (INVITE with Replaces from the lamp)", by)
		}
	}
}

// lamp: {watching: bob, state: early, caller: alice}
func (c *checker) readLamp(n *yaml.Node, user string) *LampCheck {
	m := c.mapping(n, "lamp", "watching", "state", "caller")
	if m == nil || !c.require(n, m, "lamp", "watching", "state") {
		return nil
	}
	l := &LampCheck{Watching: c.str(m["watching"], "watching"), State: c.str(m["state"], "state"), Caller: c.str(m["caller"], "caller")}
	ok := false
	for _, s := range lampStates {
		ok = ok || s == l.State
	}
	if !ok {
		c.errorf(m["state"], "lamp state %q: want one of %s", l.State, strings.Join(lampStates, ", "))
	}
	if !c.watching[user][l.Watching] {
		c.errorf(m["watching"], "%s has no busy lamp key for %q at this point: add a subscribe step", user, l.Watching)
	}
	return l
}
