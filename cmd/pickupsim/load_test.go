package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadCommandReportsFailedExpectations runs `pickupsim load` on a tiny rehearsal with
// one expectation that cannot hold: the command fails with the exit status of failed
// expectations, the table names the failing line, and the JSON and HTML reports are
// written all the same.
func TestLoadCommandReportsFailedExpectations(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	f := loadFlags{json: filepath.Join(dir, "r.json"), html: filepath.Join(dir, "r.html"), live: true}
	err := runLoad(context.Background(), &out, "testdata/load/tiny-fails.load.yaml", f)
	require.ErrorIs(t, err, errScenariosFailed)
	assert.Equal(t, 1, exitCode(err))
	text := out.String()
	for _, want := range []string{
		"80 users on 2 pools, 2 phases",
		"\r\x1b[K[normal", // the live line
		"== normal", "== outage", "at ", "pool01.contoso.com stopped answering",
		"ok   line 22 {calls: {succeed: \">= 90%\"}}",
		"FAIL line 23 {pickups: {succeed: \">= 0%\", min: 100000}}: only",
		"back in service: users of pool01.contoso.com registered on pool02.contoso.com's backup registrar",
		"FAIL: 3 expectations, 1 failed",
	} {
		assert.Contains(t, text, want)
	}
	var res struct {
		Passed bool
		Phases []struct{ Name string }
	}
	data, err := os.ReadFile(f.json)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &res))
	assert.False(t, res.Passed)
	assert.Len(t, res.Phases, 3)
	page, err := os.ReadFile(f.html)
	require.NoError(t, err)
	assert.Equal(t, 5, strings.Count(string(page), `<svg class="plot"`))
	assert.Contains(t, string(page), "FAIL: 3 expectations, 1 failed")
}

func TestLoadCommandRefusesAMalformedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.load.yaml")
	require.NoError(t, os.WriteFile(path, []byte("population: {usersPerPool: 10, pools: 3}\ntraffic: {calls: fast}\ntimeline: []\n"), 0o644))
	err := runLoad(context.Background(), &bytes.Buffer{}, path, loadFlags{})
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	for _, want := range []string{path + ":1: pools must be even", path + `:2: calls "fast" must be a rate like 60/s`} {
		assert.Contains(t, err.Error(), want)
	}
}
