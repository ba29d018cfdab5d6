package load_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/scenarios/load"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

// TestSmallRehearsal runs 300 users through an outage, failover, redirect and failback
// over real pools, and checks what the administrator would read: every expectation held,
// pickups by pool01's users refused with 480 while failing over, every user of pool01 back
// on the backup registrar once the timer ran out, and no RTP lost on the measured calls.
func TestSmallRehearsal(t *testing.T) {
	rh, err := scenario.LoadRehearsal("testdata/small.load.yaml")
	require.NoError(t, err)
	var progress []load.Progress
	res := load.Run(context.Background(), rh, load.Options{Progress: func(p load.Progress) { progress = append(progress, p) }})
	require.Empty(t, res.Error)
	assert.True(t, res.Passed, "%v", res.Failures)
	assert.Equal(t, 300, res.Users)
	assert.Equal(t, 30, res.TCPPhones, "10% of the phones on TCP")

	names := []string{"registration", "normal", "outage", "failing-over", "redirect", "failed-over", "failing-back", "redirect-back", "normal-again"}
	require.Len(t, res.Phases, len(names))
	for i, ph := range res.Phases {
		assert.Equal(t, names[i], ph.Name)
	}
	reg := op(t, res.Phases[0], scenario.OpRegistrations)
	assert.Equal(t, 300, reg.OK, "every phone registered at the start")

	failing := res.Phases[3]
	pickups := op(t, failing, scenario.OpPickups)
	for _, r := range pickups.Refusals {
		assert.Equal(t, 480, r.Code, "pickups are refused with 480 while failing over, not %s", r)
		assert.Contains(t, r.Example, "resiliency mode")
	}
	outage := res.Phases[2]
	require.Len(t, outage.Recoveries, 1)
	rec := outage.Recoveries[0]
	assert.Equal(t, 150, rec.Users)
	assert.Equal(t, 150, rec.Back, "every user of pool01 on the backup registrar")
	assert.Less(t, time.Duration(rec.Max), 4*time.Second)
	assert.Contains(t, rec.What, "after the registrar failover timer (2s) ran out")

	assert.Equal(t, 6, res.RTP.Calls)
	assert.Equal(t, 6, res.RTP.UpAtEnd, "the measured calls stayed up through every phase")
	assert.Zero(t, res.RTP.Lost)
	assert.Greater(t, res.RTP.Received, 6*2*50*15, "media flowed both ways on every measured call")

	require.NotEmpty(t, res.Series)
	assert.Equal(t, 300, res.Series[len(res.Series)-1].Normal+res.Series[len(res.Series)-1].Resiliency)
	require.NotEmpty(t, progress, "the live progress was reported")
	assert.Equal(t, "normal-again", progress[len(progress)-1].Phase)
}

func op(t *testing.T, ph load.PhaseResult, kind string) load.OpStats {
	t.Helper()
	for _, o := range ph.Ops {
		if o.Kind == kind {
			return o
		}
	}
	t.Fatalf("phase %s has no %s", ph.Name, kind)
	return load.OpStats{}
}

// TestBundledRehearsalsParse: every rehearsal the README tells an administrator to run
// (the bundled *.load.yaml) reads without an error, with its calls measured for RTP.
func TestBundledRehearsalsParse(t *testing.T) {
	files, err := filepath.Glob("*.load.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		rh, err := scenario.LoadRehearsal(f)
		require.NoError(t, err, f)
		assert.Positive(t, rh.Traffic.RTPCalls, "%s measures RTP on established calls", f)
	}
}
