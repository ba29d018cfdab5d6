package runner

import (
	"fmt"
	"strings"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// replace runs a step of replacing a pool with a new FQDN.
func (r *run) replace(st scenario.Step) (string, error) {
	n := r.net
	switch st.Kind {
	case scenario.AddPool:
		if err := n.AddPool(st.NewPool); err != nil {
			return "", err
		}
		p, _ := n.Pool(st.NewPool.FQDN)
		r.addLane(Lane{Name: st.NewPool.FQDN, Addr: p.Addr(), Pool: true})
		return fmt.Sprintf("pool %s deployed on %s, CPS settings at their defaults", st.NewPool.FQDN, p.Addr()), nil
	case scenario.MoveUsers:
		moved, err := n.MoveUsers(st.FromPool, st.ToPool)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Move-CsUser -Target %s -Force: %s", st.ToPool, orNone(moved)), nil
	case scenario.RemovePool:
		if err := n.RemovePool(st.Pool); err != nil {
			return "", err
		}
		return fmt.Sprintf("pool %s removed from the topology; warnings: %s", st.Pool, warningsText(n.Warnings())), nil
	case scenario.PairPools:
		if err := n.PairPools(st.FromPool, st.ToPool); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s and %s back each other up", st.FromPool, st.ToPool), nil
	case scenario.ReassignOrbits:
		ids, err := n.ReassignOrbits(st.FromPool, st.ToPool)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Set-CsCallParkOrbit -CallParkService %s on %s", st.ToPool, orNone(ids)), nil
	}
	return "", fmt.Errorf("step kind %s is not a pool replacement step", st.Kind)
}

// addLane adds a pool deployed during the replay: a lane after the other pools, and its
// address in the trace, so its messages are recorded and named.
func (r *run) addLane(l Lane) {
	i := 0
	for i < len(r.res.Lanes) && r.res.Lanes[i].Pool {
		i++
	}
	r.res.Lanes = append(r.res.Lanes[:i], append([]Lane{l}, r.res.Lanes[i:]...)...)
	r.rec.name(l.Addr, l.Name)
	theHub.register(r.rec, l.Addr)
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func warningsText(ws []topology.Warning) string {
	if len(ws) == 0 {
		return "none"
	}
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = string(w)
	}
	return strings.Join(parts, "; ")
}
