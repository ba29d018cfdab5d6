package runner

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

// TestEveryAdministratorStepIsAnEventOnItsPools replays the testdata/kinds scenarios that
// fail pools and run cmdlets: each such step must carry an Event for the ladder, naming
// pools that are lanes of the replay (FQDNs, as the lanes are), or say it was refused; no
// other step may carry one.
func TestEveryAdministratorStepIsAnEventOnItsPools(t *testing.T) {
	admin := []scenario.Kind{scenario.Outage, scenario.Recover, scenario.FailOver, scenario.FailOverComplete,
		scenario.FailBack, scenario.FailBackComplete, scenario.SetOrbit, scenario.NewOrbit, scenario.RemoveOrbit,
		scenario.SetCPS, scenario.EnablePickup, scenario.DisablePickup, scenario.AddPool, scenario.MoveUsers,
		scenario.RemovePool, scenario.PairPools, scenario.ReassignOrbits}
	seen := map[scenario.Kind]bool{}
	for _, f := range []string{"disaster-recovery", "planned-failover", "new-orbit", "remove-orbit", "enable-pickup",
		"disable-pickup", "replace-pool", "park"} {
		res := RunFile(filepath.Join("testdata/kinds", f+".yaml"), Options{})
		require.Empty(t, res.Error)
		require.True(t, res.Passed, "%s: %v", f, res.Failures)
		lanes := map[string]bool{}
		for _, l := range res.Lanes {
			lanes[l.Name] = l.Pool
		}
		for _, st := range res.Steps {
			isAdmin := false
			for _, k := range admin {
				isAdmin = isAdmin || st.Kind == k
			}
			if !isAdmin {
				assert.Nil(t, st.Event, "%s:%d: %s is not an administrator's step", f, st.Line, st.Kind)
				continue
			}
			if !assert.NotNil(t, st.Event, "%s:%d: %s", f, st.Line, st.Kind) {
				continue
			}
			assert.NotEmpty(t, st.Event.Label)
			refused := strings.HasPrefix(st.Detail, "failed as expected")
			assert.Equal(t, refused, st.Event.Refused != "", "%s:%d: the event says whether the cmdlet was refused", f, st.Line)
			if refused {
				continue // it may name a pool or range that does not exist: that is why it failed
			}
			seen[st.Kind] = true
			assert.NotEmpty(t, st.Event.Pools, "%s:%d: %s concerns some pool", f, st.Line, st.Kind)
			for _, p := range st.Event.Pools {
				assert.True(t, lanes[p], "%s:%d: %s names %s, which is no pool's lane", f, st.Line, st.Kind, p)
			}
		}
	}
	for _, k := range admin {
		assert.True(t, seen[k], "no replayed step of kind %s", k)
	}
}
