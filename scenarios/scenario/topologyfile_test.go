package scenario

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
)

func TestTopologyFileRoundTrip(t *testing.T) {
	orig, err := LoadTopologyFile("../topologies/contoso.yaml")
	require.NoError(t, err)
	orig.AutoRedirectOrbits = true
	orig.DirectedPickupPrefix = "*8"
	orig.Users[0].Password = "s3cret"
	orig.Users[1].PrivateLine = "4255550102"
	cps := park.DefaultCPSConfig()
	cps.CallPickupTimeoutThreshold = 45 * time.Second
	cps.MaxCallPickupAttempts = 3
	cps.OnTimeoutURI = "sip:operator@contoso.com"
	cps.EnableMusicOnHold = false
	orig.Pools[1].CPS = &cps
	orig.Pools[0].Address = "127.0.0.1:5060"
	orig.Orbits = append(orig.Orbits, park.OrbitRange{Identity: "star", NumberRangeStart: "*300",
		NumberRangeEnd: "*399", CallParkService: "pool02.contoso.com", Type: park.GroupPickup})

	path := filepath.Join(t.TempDir(), "lab.yaml")
	require.NoError(t, SaveTopologyFile(path, orig, "saved by a test"))
	back, err := LoadTopologyFile(path)
	require.NoError(t, err)
	require.Equal(t, orig, back)

	// Saving again replaces the file; no temporary file is left behind.
	require.NoError(t, SaveTopologyFile(path, back, ""))
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1)
}

func TestLoadTopologyFileReportsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(path, []byte("pools:\n  - fqdn: a.contoso.com\n    colour: blue\n"), 0o644))
	_, err := LoadTopologyFile(path)
	require.ErrorIs(t, err, ErrMalformed)
	require.Contains(t, err.Error(), "bad.yaml:3:")
}
