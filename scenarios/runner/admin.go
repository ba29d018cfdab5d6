package runner

import (
	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip"
)

// Admin carries out an administrator's step (outage, recover, failover and failback and
// their completions, set-orbit, set-cps, ...) on a running network and says what it did,
// as a replay does: load rehearsals run the same actions while their traffic flows.
func Admin(n *sip.Network, st scenario.Step) (string, error) {
	return (&run{net: n}).admin(st)
}
