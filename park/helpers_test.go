package park

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	pool1 = "pool01.contoso.com"
	pool2 = "pool02.contoso.com"
)

// orbit builds a CallPark range of pool1.
func orbit(id, start, end string) OrbitRange {
	return OrbitRange{Identity: id, NumberRangeStart: start, NumberRangeEnd: end, CallParkService: pool1}
}

// pickupRange builds a GroupPickup range.
func pickupRange(id, start, end, pool string) OrbitRange {
	return OrbitRange{Identity: id, NumberRangeStart: start, NumberRangeEnd: end, CallParkService: pool, Type: GroupPickup}
}

// onPool returns r owned by pool.
func onPool(r OrbitRange, pool string) OrbitRange {
	r.CallParkService = pool
	return r
}

// tableOf returns a table holding rs, failing the test if one is refused.
func tableOf(t testing.TB, rs ...OrbitRange) *OrbitTable {
	t.Helper()
	tbl := NewOrbitTable()
	for _, r := range rs {
		require.NoError(t, tbl.New(r), "setting up %q", r.Identity)
	}
	return tbl
}

func ptr[T any](v T) *T { return &v }
