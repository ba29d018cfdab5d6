package admin

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The admin takes the pool names scenario files take: "pool01" as well as the FQDN, in
// every parameter that names a pool, and says which name it did not know.
func TestCmdletsAcceptShortPoolNames(t *testing.T) {
	f := newFixture(t, "")
	f.mustRun("Invoke-PoolOutage", map[string]any{"PoolFqdn": "pool01"})
	assert.Equal(t, "outage", f.phase(pool01))
	f.mustRun("Invoke-CsPoolFailOver", map[string]any{"PoolFqdn": "POOL01", "DisasterMode": true})
	assert.Equal(t, "failing-over", f.phase(pool01))

	f.mustRun("Set-CsCallParkOrbit", map[string]any{"Identity": "pickup-pool01", "CallParkService": "pool02"})
	assert.Equal(t, pool02, f.orbit("pickup-pool01").CallParkService)
	f.mustRun("New-CsCallParkOrbit", map[string]any{"Identity": "park-extra", "NumberRangeStart": "*800",
		"NumberRangeEnd": "*899", "CallParkService": "service:ApplicationServer:pool02"})
	assert.Equal(t, pool02, f.orbit("park-extra").CallParkService)

	var cps CPSJSON
	require.NoError(t, json.Unmarshal(f.mustRun("Set-CsCpsConfiguration", map[string]any{"Identity": "pool02",
		"MaxCallPickupAttempts": 2}), &cps))
	assert.Equal(t, 2, cps.MaxCallPickupAttempts)
	require.NoError(t, json.Unmarshal(f.mustRun("Get-CsCpsConfiguration", map[string]any{"Identity": "pool02"}), &cps))
	assert.Equal(t, 2, cps.MaxCallPickupAttempts)

	// An orbit range's Identity is not a pool name: "pool02" there stays an orbit identity.
	_, err := f.run("Get-CsCallParkOrbit", map[string]any{"Identity": "pool02"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"pool02"`)

	_, err = f.run("Invoke-PoolRecovery", map[string]any{"PoolFqdn": "pool09"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pool09")
}

func TestResolvePool(t *testing.T) {
	pools := []string{"pool01.east.contoso.com", "pool01.west.contoso.com", "pool02.contoso.com"}
	assert.Equal(t, "pool02.contoso.com", resolvePool(pools, "pool02"))
	assert.Equal(t, "pool02.contoso.com", resolvePool(pools, "pool02.contoso.com"))
	assert.Equal(t, "pool01.east.contoso.com", resolvePool(pools, "pool01.east"))
	assert.Empty(t, resolvePool(pools, "pool01"), "ambiguous")
	assert.Empty(t, resolvePool(pools, "pool0"))
}
