package park

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ruleCase is one New on a table already holding some ranges.
type ruleCase struct {
	name    string
	r       OrbitRange
	wantErr error // nil: accepted
}

// runRuleCases checks each case on a fresh table holding existing.
func runRuleCases(t *testing.T, existing []OrbitRange, tests []ruleCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := tableOf(t, existing...)
			before := tbl.List()
			err := tbl.New(tt.r)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Len(t, tbl.List(), len(before)+1)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			assert.Contains(t, err.Error(), `orbit range "`+tt.r.Identity+`"`)
			assert.Equal(t, before, tbl.List(), "a refused New changes nothing")
		})
	}
}

// Rule: start and end have the same length.
func TestRuleStartAndEndSameLength(t *testing.T) {
	runRuleCases(t, nil, []ruleCase{
		{"same length", orbit("R", "100", "999"), nil},
		{"end longer", orbit("R", "100", "1000"), ErrLengthMismatch},
		{"end shorter", orbit("R", "1000", "999"), ErrLengthMismatch},
		{"prefixed end longer", orbit("R", "*101", "*1000"), ErrLengthMismatch},
		{"nine digits", orbit("R", "100000000", "100000099"), nil},
	})
}

// Rule: the end uses the same prefix as the start.
func TestRuleStartAndEndSamePrefix(t *testing.T) {
	runRuleCases(t, nil, []ruleCase{
		{"both *", orbit("R", "*101", "*199"), nil},
		{"both #", orbit("R", "#101", "#199"), nil},
		{"* and #", orbit("R", "*101", "#199"), ErrPrefixMismatch},
		{"* and none", orbit("R", "*101", "1199"), ErrPrefixMismatch},
		{"none and #", orbit("R", "1101", "#199"), ErrPrefixMismatch},
	})
}

// Rule: start <= end.
func TestRuleStartNotGreaterThanEnd(t *testing.T) {
	runRuleCases(t, nil, []ruleCase{
		{"start equals end", orbit("R", "100", "100"), nil},
		{"start below end", orbit("R", "100", "101"), nil},
		{"start above end by one", orbit("R", "101", "100"), ErrStartAfterEnd},
		{"prefixed start above end", orbit("R", "*200", "*199"), ErrStartAfterEnd},
	})
}

// Rule: no two ranges overlap. Only numbers of the same prefix and length
// can collide.
func TestRuleNoOverlap(t *testing.T) {
	existing := []OrbitRange{orbit("A", "1100", "1199")}
	runRuleCases(t, existing, []ruleCase{
		{"adjacent below", orbit("R", "1000", "1099"), nil},
		{"adjacent above", orbit("R", "1200", "1299"), nil},
		{"overlap at the last number", orbit("R", "1199", "1250"), ErrOverlap},
		{"overlap at the first number", orbit("R", "1000", "1100"), ErrOverlap},
		{"inside", orbit("R", "1150", "1160"), ErrOverlap},
		{"enclosing", orbit("R", "1000", "1300"), ErrOverlap},
		{"identical", orbit("R", "1100", "1199"), ErrOverlap},
		{"single number inside", orbit("R", "1150", "1150"), ErrOverlap},
		{"same digits with prefix *", orbit("R", "*1100", "*1199"), nil},
		{"same digits with prefix #", orbit("R", "#1100", "#1199"), nil},
		{"longer numbers", orbit("R", "11000", "11999"), nil},
		{"shorter numbers", orbit("R", "110", "119"), nil},
		{"overlap across pools", onPool(orbit("R", "1150", "1160"), pool2), ErrOverlap},
		{"overlap across types", pickupRange("R", "1150", "1160", pool1), ErrOverlap},
	})
}

// Rule: fewer than 10,000 numbers in one range.
func TestRuleRangeFewerThan10000Numbers(t *testing.T) {
	runRuleCases(t, nil, []ruleCase{
		{"9,999 numbers", orbit("R", "10000", "19998"), nil},
		{"10,000 numbers", orbit("R", "10000", "19999"), ErrRangeTooLarge},
		{"9,999 prefixed numbers", orbit("R", "*10000", "*19998"), nil},
		{"10,000 prefixed numbers", orbit("R", "*10000", "*19999"), ErrRangeTooLarge},
		{"every 9-digit number", orbit("R", "100000000", "999999999"), ErrRangeTooLarge},
	})
}

// fullPool is five ranges of 9,999 numbers on pool1: 49,995 numbers.
func fullPool() []OrbitRange {
	return []OrbitRange{
		orbit("P1", "10000", "19998"),
		orbit("P2", "20000", "29998"),
		orbit("P3", "30000", "39998"),
		pickupRange("P4", "40000", "49998", pool1), // every type counts
		orbit("P5", "50000", "59998"),
	}
}

// Rule: fewer than 50,000 numbers owned by one pool.
func TestRulePoolFewerThan50000Numbers(t *testing.T) {
	runRuleCases(t, fullPool(), []ruleCase{
		{"pool total 49,999", orbit("R", "60000", "60003"), nil},
		{"pool total 50,000", orbit("R", "60000", "60004"), ErrPoolFull},
		{"pool total 50,000 by GroupPickup", pickupRange("R", "60000", "60004", pool1), ErrPoolFull},
		{"pool total 50,000 by service ID", onPool(orbit("R", "60000", "60004"), "ApplicationServer:POOL01.contoso.com"), ErrPoolFull},
		{"another pool", onPool(orbit("R", "60000", "69998"), pool2), nil},
	})
}

// Rule: the identity is not empty, and unique ignoring case.
func TestRuleIdentityRequiredAndUnique(t *testing.T) {
	existing := []OrbitRange{orbit("Redmond", "100", "199")}
	runRuleCases(t, existing, []ruleCase{
		{"new identity", orbit("Dublin", "200", "299"), nil},
		{"empty", orbit("", "200", "299"), ErrMissingIdentity},
		{"blank", orbit("  ", "200", "299"), ErrMissingIdentity},
		{"duplicate", orbit("Redmond", "200", "299"), ErrDuplicateIdentity},
		{"duplicate in another case", orbit("REDMOND", "200", "299"), ErrDuplicateIdentity},
	})
}

// Rule: every range names the pool that owns it.
func TestRuleCallParkServiceRequired(t *testing.T) {
	runRuleCases(t, nil, []ruleCase{
		{"FQDN", onPool(orbit("R", "100", "199"), pool2), nil},
		{"service ID", onPool(orbit("R", "100", "199"), "ApplicationServer:pool02.contoso.com"), nil},
		{"empty", onPool(orbit("R", "100", "199"), ""), ErrMissingService},
		{"blank", onPool(orbit("R", "100", "199"), " "), ErrMissingService},
		{"service ID without FQDN", onPool(orbit("R", "100", "199"), "ApplicationServer:"), ErrMissingService},
	})
}

// A service ID or an upper-case FQDN is stored as the lower-case FQDN, so the
// SIP layer compares pools by plain equality.
func TestRuleCallParkServiceStoredAsFQDN(t *testing.T) {
	for _, service := range []string{"pool02.contoso.com", "POOL02.Contoso.com", "ApplicationServer:Pool02.contoso.com", " pool02.contoso.com "} {
		tbl := tableOf(t, onPool(orbit("R", "100", "199"), service))
		got, ok := tbl.Get("R")
		require.True(t, ok)
		assert.Equal(t, pool2, got.CallParkService, service)
	}
}

// Rule: the type is CallPark (the default) or GroupPickup.
func TestRuleTypeCallParkOrGroupPickup(t *testing.T) {
	tests := []struct {
		typ  RangeType
		want RangeType // "" when refused
	}{
		{"", CallPark},
		{CallPark, CallPark},
		{GroupPickup, GroupPickup},
		{"grouppickup", GroupPickup},
		{"CALLPARK", CallPark},
		{"Park", ""},
		{"Group Pickup", ""},
		{" CallPark", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			tbl := NewOrbitTable()
			r := orbit("R", "100", "199")
			r.Type = tt.typ
			err := tbl.New(r)
			if tt.want == "" {
				require.ErrorIs(t, err, ErrInvalidType)
				assert.Empty(t, tbl.List())
				return
			}
			require.NoError(t, err)
			got, _ := tbl.Get("R")
			assert.Equal(t, tt.want, got.Type)
		})
	}
}

// Every message names the range, the offending value and the rule, for the
// Lync administrator who typed the command.
func TestRuleErrorMessages(t *testing.T) {
	tests := []struct {
		r    OrbitRange
		want string
	}{
		{orbit("R", "0123", "0199"), `orbit range "R": start "0123": not a valid orbit number: the first digit must be 1-9`},
		{orbit("R", "1234567890", "1234567899"), `orbit range "R": start "1234567890": not a valid orbit number: at most 9 digits are allowed without a prefix, found 10`},
		{orbit("R", "*123456789", "*123456789"), `orbit range "R": start "*123456789": not a valid orbit number: at most 8 digits are allowed after * or #, found 9`},
		{orbit("R", "*100", "*199"), `orbit range "R": start "*100": not a valid orbit number: the digits after * or # must be greater than 100`},
		{orbit("R", "100", "1000"), `orbit range "R": start "100" (3 digits) and end "1000" (4 digits): start and end must have the same number of digits`},
		{orbit("R", "*101", "199"), `orbit range "R": start "*101" (prefix *) and end "199" (prefix none): start and end must have the same prefix (*, # or none)`},
		{orbit("R", "200", "100"), `orbit range "R": start "200" is greater than end "100": start must not be greater than end`},
		{orbit("R", "7050", "7150"), `orbit range "R": "7050" to "7150" overlaps orbit range "A" ("7000" to "7099") on "7050" to "7099": orbit ranges must not overlap`},
		{orbit("R", "10000", "19999"), `orbit range "R": "10000" to "19999" holds 10000 numbers: a range must hold fewer than 10,000 numbers`},
		{orbit("A", "100", "199"), `orbit range "A": an orbit range with this identity already exists`},
		{orbit("", "100", "199"), `orbit range "": the identity must not be empty`},
		{onPool(orbit("R", "100", "199"), ""), `orbit range "R": the CallParkService (FQDN of the owning pool) must not be empty`},
		{OrbitRange{Identity: "R", NumberRangeStart: "100", NumberRangeEnd: "199", CallParkService: pool1, Type: "Park"}, `orbit range "R": type "Park": type must be CallPark or GroupPickup`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			tbl := tableOf(t, orbit("A", "7000", "7099"))
			err := tbl.New(tt.r)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}

	full := tableOf(t, fullPool()...)
	err := full.New(orbit("R", "60000", "60004"))
	require.Error(t, err)
	assert.Equal(t, `orbit range "R": pool "pool01.contoso.com" would own 50000 orbit numbers: a pool must own fewer than 50,000 orbit numbers`, err.Error())

	err = full.Remove("Nowhere")
	require.Error(t, err)
	assert.Equal(t, `orbit range "Nowhere": no orbit range has this identity`, err.Error())
}
