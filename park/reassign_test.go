package park

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// servicesOf maps identity to CallParkService.
func servicesOf(tbl *OrbitTable) map[string]string {
	m := map[string]string{}
	for _, r := range tbl.List() {
		m[r.Identity] = r.CallParkService
	}
	return m
}

// SPEC section 5: after failover the GroupPickup ranges of the failed pool
// point at its backup; CallPark ranges stay where they are.
func TestReassignByType(t *testing.T) {
	tbl := deployment(t)
	ids, err := tbl.Reassign(pool2, pool1, GroupPickup)
	require.NoError(t, err)
	assert.Equal(t, []string{"Dublin Pickup", "Short Pickup"}, ids)
	assert.Equal(t, map[string]string{
		"Dublin Park":    pool2,
		"Dublin Pickup":  pool1,
		"Redmond Park":   pool1,
		"Redmond Pickup": pool1,
		"Short Pickup":   pool1,
	}, servicesOf(tbl))

	got, ok := tbl.Lookup("#7050")
	require.True(t, ok)
	assert.Equal(t, pool1, got.CallParkService, "routing follows the reassignment")

	ids, err = tbl.Reassign(pool1, pool2, "grouppickup")
	require.NoError(t, err)
	assert.Equal(t, []string{"Dublin Pickup", "Redmond Pickup", "Short Pickup"}, ids)
}

// SPEC section 5: a pool replaced by one with another FQDN gets every range.
func TestReassignAllTypes(t *testing.T) {
	tbl := deployment(t)
	ids, err := tbl.Reassign("ApplicationServer:POOL01.contoso.com", "Pool09.contoso.com", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"Redmond Park", "Redmond Pickup"}, ids)
	assert.Equal(t, map[string]string{
		"Dublin Park":    pool2,
		"Dublin Pickup":  pool2,
		"Redmond Park":   "pool09.contoso.com",
		"Redmond Pickup": "pool09.contoso.com",
		"Short Pickup":   pool2,
	}, servicesOf(tbl))
	got, _ := tbl.Lookup("7000")
	assert.Equal(t, "pool09.contoso.com", got.CallParkService)
}

// Rule: the pool limit holds after a reassignment; if it would not, nothing
// moves.
func TestReassignPoolLimitAllOrNothing(t *testing.T) {
	tbl := tableOf(t, append(fullPool(), // pool1: 49,995
		onPool(orbit("Q1", "70000", "70003"), pool2),                // 4
		pickupRange("Q2", "80000", "80000", pool2),                  // 1
		onPool(orbit("Q3", "90000", "90099"), "pool03.contoso.com"), // 100
	)...)
	before := tbl.List()

	_, err := tbl.Reassign(pool2, pool1, "")
	require.ErrorIs(t, err, ErrPoolFull)
	assert.Contains(t, err.Error(), `"Q1", "Q2"`)
	assert.Contains(t, err.Error(), "would own 50000 orbit numbers")
	assert.Equal(t, before, tbl.List(), "no range moved")
	got, _ := tbl.Lookup("70000")
	assert.Equal(t, pool2, got.CallParkService)

	ids, err := tbl.Reassign(pool2, pool1, CallPark) // 49,999
	require.NoError(t, err)
	assert.Equal(t, []string{"Q1"}, ids)
}

// Nothing to move is not an error: the table is unchanged and no identity
// is returned.
func TestReassignNothingToMove(t *testing.T) {
	tests := []struct {
		name     string
		from, to string
		typ      RangeType
	}{
		{"unknown pool", "pool09.contoso.com", pool1, ""},
		{"no range of that type", pool2, pool1, "CallPark"},
		{"same pool", pool1, "ApplicationServer:POOL01.contoso.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := tableOf(t, orbit("A", "100", "199"), pickupRange("G", "200", "299", pool2))
			before := tbl.List()
			ids, err := tbl.Reassign(tt.from, tt.to, tt.typ)
			require.NoError(t, err)
			assert.Empty(t, ids)
			assert.Equal(t, before, tbl.List())
		})
	}
}

func TestReassignBadArguments(t *testing.T) {
	tests := []struct {
		name     string
		from, to string
		typ      RangeType
		want     error
	}{
		{"empty destination", pool1, "", "", ErrMissingService},
		{"empty source", "", pool2, "", ErrMissingService},
		{"service ID without FQDN", pool1, "ApplicationServer:", "", ErrMissingService},
		{"bad type", pool1, pool2, "Pickup", ErrInvalidType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := deployment(t)
			before := tbl.List()
			ids, err := tbl.Reassign(tt.from, tt.to, tt.typ)
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, ids)
			assert.Equal(t, before, tbl.List())
		})
	}
}
