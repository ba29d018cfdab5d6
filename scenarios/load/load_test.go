package load_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/scenarios/load"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

func TestSmallRehearsal(t *testing.T) {
	rh, err := scenario.LoadRehearsal("testdata/small.load.yaml")
	require.NoError(t, err)
	res := load.Run(context.Background(), rh, load.Options{})
	b, _ := json.MarshalIndent(res.Phases, "", " ")
	os.WriteFile("/tmp/small.json", b, 0o644)
	for _, f := range res.Failures {
		t.Log(f)
	}
	t.Log(res.Error)
	require.True(t, res.Passed)
}
