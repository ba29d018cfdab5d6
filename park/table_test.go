package park

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deployment is a small orbit table: two pools, both types, three prefixes.
func deployment(t testing.TB) *OrbitTable {
	return tableOf(t,
		orbit("Redmond Park", "7000", "7099"),
		onPool(orbit("Dublin Park", "7100", "7199"), pool2),
		pickupRange("Redmond Pickup", "*7000", "*7099", pool1),
		pickupRange("Dublin Pickup", "#7000", "#7099", pool2),
		pickupRange("Short Pickup", "150", "199", pool2),
	)
}

func TestListSortedByIdentity(t *testing.T) {
	var ids []string
	for _, r := range deployment(t).List() {
		ids = append(ids, r.Identity)
	}
	assert.Equal(t, []string{"Dublin Park", "Dublin Pickup", "Redmond Park", "Redmond Pickup", "Short Pickup"}, ids)
	assert.Empty(t, NewOrbitTable().List())
}

func TestGetIgnoresCase(t *testing.T) {
	tbl := deployment(t)
	got, ok := tbl.Get("redmond PARK")
	require.True(t, ok)
	assert.Equal(t, OrbitRange{Identity: "Redmond Park", NumberRangeStart: "7000", NumberRangeEnd: "7099", CallParkService: pool1, Type: CallPark}, got)

	_, ok = tbl.Get("Nowhere")
	assert.False(t, ok)
}

// Set-CsCallParkOrbit: only the fields given change.
func TestSetChangesOnlyGivenFields(t *testing.T) {
	tbl := deployment(t)
	require.NoError(t, tbl.Set("Redmond Pickup", OrbitChange{CallParkService: ptr(pool2)}))
	got, _ := tbl.Get("Redmond Pickup")
	assert.Equal(t, pickupRange("Redmond Pickup", "*7000", "*7099", pool2), got)

	require.NoError(t, tbl.Set("redmond park", OrbitChange{NumberRangeEnd: ptr("7049"), Type: ptr(GroupPickup)}))
	got, _ = tbl.Get("Redmond Park")
	assert.Equal(t, pickupRange("Redmond Park", "7000", "7049", pool1), got, "identity keeps its spelling")

	r, ok := tbl.Lookup("7050")
	assert.False(t, ok, "7050 was freed by shrinking the range, got %+v", r)
}

// Set checks the changed range against every range but itself.
func TestSetExcludesItselfFromOverlap(t *testing.T) {
	tbl := deployment(t)
	require.NoError(t, tbl.Set("Redmond Park", OrbitChange{NumberRangeStart: ptr("7050")}))
	require.NoError(t, tbl.Set("Redmond Park", OrbitChange{NumberRangeStart: ptr("7000"), NumberRangeEnd: ptr("7099")}))
	err := tbl.Set("Redmond Park", OrbitChange{NumberRangeEnd: ptr("7100")})
	require.ErrorIs(t, err, ErrOverlap)
	assert.Contains(t, err.Error(), `orbit range "Dublin Park"`)
}

// Set counts the range once in its pool, with its new size.
func TestSetPoolLimitCountsRangeOnce(t *testing.T) {
	tbl := tableOf(t, append(fullPool(), orbit("R", "60000", "60003"))...) // 49,999
	require.NoError(t, tbl.Set("R", OrbitChange{NumberRangeStart: ptr("60001"), NumberRangeEnd: ptr("60004")}))
	require.ErrorIs(t, tbl.Set("R", OrbitChange{NumberRangeEnd: ptr("60005")}), ErrPoolFull)
	require.NoError(t, tbl.Set("P1", OrbitChange{CallParkService: ptr(pool2)}))
	require.NoError(t, tbl.Set("P1", OrbitChange{CallParkService: ptr(pool1)}), "moving back to a pool at 49,999")
}

// Rule: a failed Set leaves the table exactly as before, index included.
func TestSetIsAtomic(t *testing.T) {
	tests := []struct {
		name string
		c    OrbitChange
		want error
	}{
		{"invalid start", OrbitChange{NumberRangeStart: ptr("07000")}, ErrInvalidNumber},
		{"length mismatch", OrbitChange{NumberRangeEnd: ptr("70999")}, ErrLengthMismatch},
		{"prefix mismatch", OrbitChange{NumberRangeStart: ptr("*7000"), NumberRangeEnd: ptr("#7099")}, ErrPrefixMismatch},
		{"start after end", OrbitChange{NumberRangeStart: ptr("7099"), NumberRangeEnd: ptr("7000")}, ErrStartAfterEnd},
		{"overlap", OrbitChange{NumberRangeStart: ptr("150"), NumberRangeEnd: ptr("150")}, ErrOverlap},
		{"too large", OrbitChange{NumberRangeStart: ptr("10000"), NumberRangeEnd: ptr("19999")}, ErrRangeTooLarge},
		{"empty service", OrbitChange{CallParkService: ptr("")}, ErrMissingService},
		{"invalid type", OrbitChange{Type: ptr(RangeType("Pickup"))}, ErrInvalidType},
		{"valid numbers, invalid type", OrbitChange{NumberRangeStart: ptr("8000"), NumberRangeEnd: ptr("8099"), Type: ptr(RangeType("x"))}, ErrInvalidType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := deployment(t)
			before := tbl.List()
			require.ErrorIs(t, tbl.Set("Redmond Park", tt.c), tt.want)
			assert.Equal(t, before, tbl.List())
			got, ok := tbl.Lookup("7050")
			require.True(t, ok)
			assert.Equal(t, "Redmond Park", got.Identity)
			_, ok = tbl.Lookup("8050")
			assert.False(t, ok)
		})
	}
}

func TestSetUnknownIdentity(t *testing.T) {
	tbl := deployment(t)
	before := tbl.List()
	err := tbl.Set("Nowhere", OrbitChange{CallParkService: ptr(pool2)})
	require.ErrorIs(t, err, ErrUnknownIdentity)
	assert.Contains(t, err.Error(), `"Nowhere"`)
	assert.Equal(t, before, tbl.List())
}

// Remove-CsCallParkOrbit frees the numbers of the range.
func TestRemoveFreesNumbers(t *testing.T) {
	tbl := deployment(t)
	require.NoError(t, tbl.Remove("redmond park"))
	_, ok := tbl.Get("Redmond Park")
	assert.False(t, ok)
	_, ok = tbl.Lookup("7050")
	assert.False(t, ok)
	assert.Len(t, tbl.List(), 4)
	require.NoError(t, tbl.New(orbit("Again", "7000", "7099")), "numbers and identity are free again")
	require.NoError(t, tbl.New(orbit("Redmond Park", "7200", "7299")))

	require.NoError(t, tbl.Remove("Short Pickup"), "the only range of its prefix and length")
	_, ok = tbl.Lookup("150")
	assert.False(t, ok)
}

// Removing a range frees its numbers in the pool total.
func TestRemoveFreesPoolCapacity(t *testing.T) {
	tbl := tableOf(t, fullPool()...)
	require.ErrorIs(t, tbl.New(orbit("R", "60000", "60004")), ErrPoolFull)
	require.NoError(t, tbl.Remove("P3"))
	require.NoError(t, tbl.New(orbit("R", "60000", "60004")))
}

func TestRemoveUnknownIdentity(t *testing.T) {
	tbl := deployment(t)
	before := tbl.List()
	require.ErrorIs(t, tbl.Remove("Nowhere"), ErrUnknownIdentity)
	assert.Equal(t, before, tbl.List())
}

func TestLookup(t *testing.T) {
	tbl := deployment(t)
	tests := []struct {
		dialled string
		want    string // identity, "" for a miss
	}{
		{"7000", "Redmond Park"},
		{"7099", "Redmond Park"},
		{"7100", "Dublin Park"},
		{"7199", "Dublin Park"},
		{"*7050", "Redmond Pickup"},
		{"#7050", "Dublin Pickup"},
		{"150", "Short Pickup"},
		{"199;phone-context=user-default", "Short Pickup"},
		{"7050;phone-context=contoso.com;user=phone", "Redmond Park"},
		{"6999", ""},
		{"7200", ""},
		{"149", ""},
		{"200", ""},
		{"*6999", ""},
		{"*7100", ""},
		{"70500", ""},
		{"+7050", ""},
		{"+14255550100", ""},
		{"tel:7050", ""},
		{"sip:7050@contoso.com", ""},
		{"07050", ""},
		{"", ""},
		{";7050", ""},
		{"7050 ", ""},
		{"1234567890", ""},
	}
	for _, tt := range tests {
		t.Run(tt.dialled, func(t *testing.T) {
			got, ok := tbl.Lookup(tt.dialled)
			if tt.want == "" {
				assert.False(t, ok, "got %+v", got)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.want, got.Identity)
			assert.True(t, got.Contains(stripParams(tt.dialled)))
		})
	}
}

// stripParams drops URI parameters, as Lookup does.
func stripParams(s string) string {
	for i := range len(s) {
		if s[i] == ';' {
			return s[:i]
		}
	}
	return s
}

// Lookup follows Set and Remove, and finds every number of every range.
func TestLookupFollowsChanges(t *testing.T) {
	tbl := deployment(t)
	require.NoError(t, tbl.Set("Dublin Park", OrbitChange{NumberRangeStart: ptr("*7100"), NumberRangeEnd: ptr("*7199")}))
	_, ok := tbl.Lookup("7150")
	assert.False(t, ok)
	got, ok := tbl.Lookup("*7150")
	require.True(t, ok)
	assert.Equal(t, "Dublin Park", got.Identity)

	for _, r := range tbl.List() {
		for _, n := range r.Numbers() {
			got, ok := tbl.Lookup(n)
			require.True(t, ok, n)
			require.Equal(t, r, got, n)
		}
	}
}

func TestCloneIsIndependent(t *testing.T) {
	tbl := deployment(t)
	c := tbl.Clone()
	assert.Equal(t, tbl.List(), c.List())

	require.NoError(t, c.Remove("Redmond Park"))
	require.NoError(t, c.Set("Dublin Park", OrbitChange{CallParkService: ptr("pool03.contoso.com")}))
	got, ok := tbl.Lookup("7050")
	require.True(t, ok, "the original keeps its range")
	assert.Equal(t, "Redmond Park", got.Identity)
	got, _ = tbl.Lookup("7150")
	assert.Equal(t, pool2, got.CallParkService)
	assert.Len(t, tbl.List(), 5)
}

// The zero OrbitTable is an empty table ready to use.
func TestZeroValueTable(t *testing.T) {
	var tbl OrbitTable
	_, ok := tbl.Lookup("7000")
	assert.False(t, ok)
	assert.Empty(t, tbl.List())
	assert.Empty(t, tbl.Clone().List())
	require.ErrorIs(t, tbl.Remove("R"), ErrUnknownIdentity)
	ids, err := tbl.Reassign(pool1, pool2, "")
	require.NoError(t, err)
	assert.Empty(t, ids)
	require.NoError(t, tbl.New(orbit("R", "7000", "7099")))
	_, ok = tbl.Lookup("7000")
	assert.True(t, ok)
}
