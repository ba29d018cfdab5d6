package sip

import (
	"sort"
	"time"

	"github.com/emiago/sipgo"

	"github.com/pickupsim/pickupsim/sip/topology"
)

// Binding is one registration a pool's registrar holds, as an operator sees it.
type Binding struct {
	User string
	// Mode is how the pool serves the user now. The deployment decides it, so it follows a
	// completed failover or failback at once, while the phone still shows what it was told.
	Mode topology.Mode
	// Told is the mode the phone read off its last 200 OK to REGISTER (presence-state);
	// it catches up with Mode at the phone's next refresh.
	Told topology.Mode
	// Stale is true when the deployment would no longer accept the user at this pool (the
	// binding outlives a change no sign-out covered); Mode is then Told.
	Stale     bool
	Contact   string
	Source    string
	Transport string
	Expires   time.Time
}

// Registrations returns the live registrations the pool holds, sorted by user.
func (p *Pool) Bindings() []Binding {
	rt := p.runtime()
	if rt == nil {
		return nil
	}
	now := p.dep.Clock().Now()
	rt.mu.Lock()
	out := make([]Binding, 0, len(rt.bindings))
	for u, b := range rt.bindings {
		if now.After(b.expires) {
			continue
		}
		out = append(out, Binding{User: u, Mode: b.mode, Told: b.mode, Contact: b.contact.String(),
			Source: b.source, Transport: b.transport, Expires: b.expires})
	}
	rt.mu.Unlock()
	// The model is asked outside rt.mu: handlers take the deployment lock without it.
	for i, r := range out {
		d := p.dep.register(p.fqdn, r.User)
		if d.Accept {
			out[i].Mode = d.Mode
		} else {
			out[i].Stale = true
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out
}

// BridgedCall is a call the pool's Call Park application connected (a picked-up,
// retrieved or rung-back call): its two parties, media flowing between them.
type BridgedCall struct {
	A, B  string // users (or URIs of callers from outside)
	Since time.Time
}

// BridgedCalls returns the calls the pool's Call Park application holds, oldest first.
func (p *Pool) BridgedCalls() []BridgedCall {
	rt := p.runtime()
	if rt == nil {
		return nil
	}
	rt.mu.Lock()
	seen := map[*bridge]bool{}
	var out []BridgedCall
	for _, br := range rt.bridges {
		if seen[br] {
			continue
		}
		seen[br] = true
		out = append(out, BridgedCall{A: partyOf(br.a), B: partyOf(br.b), Since: br.since})
	}
	rt.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out
}

// partyOf names the phone at the far end of a leg: the caller of a leg the application
// answered, the callee of one it placed (a ring-back).
func partyOf(l leg) string {
	switch s := l.(type) {
	case *sipgo.DialogServerSession:
		if f := s.InviteRequest.From(); f != nil {
			if f.Address.User != "" {
				return f.Address.User
			}
			return f.Address.String()
		}
	case *sipgo.DialogClientSession:
		if to := s.InviteRequest.To(); to != nil {
			return to.Address.User
		}
	}
	return "?"
}

// BackupRegistrarAt returns when the registrar failover timer of a pool in an outage runs
// out, and its backup registrar starts taking the pool's users; false when no timer runs.
func (n *Network) BackupRegistrarAt(pool string) (time.Time, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deploy.BackupRegistrarAt(pool)
}
