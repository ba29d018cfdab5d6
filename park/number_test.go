package park

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Rule: a number is an optional * or #, then a first digit 1-9, then more
// digits: at most 8 digits with a prefix, 9 without (New-CsCallParkOrbit
// regex ([\*|#]?[1-9]\d{0,7})|([1-9]\d{0,8})).
func TestRuleNumberFormat(t *testing.T) {
	tests := []struct {
		number string
		ok     bool
		reason string // part of the message when refused
	}{
		{"1", true, ""},
		{"7000", true, ""},
		{"123456789", true, ""}, // 9 digits, no prefix
		{"1234567890", false, "at most 9 digits are allowed without a prefix"}, // 10 digits
		{"*12345678", true, ""}, // 8 digits after *
		{"#12345678", true, ""},
		{"*123456789", false, "at most 8 digits are allowed after * or #"},
		{"#123456789", false, "at most 8 digits are allowed after * or #"},
		{"0123", false, "first digit must be 1-9"},
		{"0", false, "first digit must be 1-9"},
		{"*0123", false, "first digit must be 1-9"},
		{"", false, "empty"},
		{"*", false, "must be followed by digits"},
		{"#", false, "must be followed by digits"},
		{"|123", false, "only digits"}, // the documented regex's [\*|#] slip
		{"+14255550100", false, "only digits"},
		{"**123", false, "only digits"},
		{"12a", false, "only digits"},
		{" 123", false, "only digits"},
		{"123 ", false, "only digits"},
		{"1-23", false, "only digits"},
		{"１２３", false, "only digits"}, // full-width digits are not \d here
		{"12*3", false, "only digits"},
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			err := NewOrbitTable().New(orbit("R", tt.number, tt.number))
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidNumber)
			assert.Contains(t, err.Error(), `orbit range "R": start `)
			assert.Contains(t, err.Error(), tt.reason)
		})
	}
}

// Rule: "the number following * or # must be greater than 100"
// (New-CsCallParkOrbit help; "Create or modify a call park orbit range").
func TestRulePrefixedNumberGreaterThan100(t *testing.T) {
	tests := []struct {
		number string
		ok     bool
	}{
		{"*100", false},
		{"#100", false},
		{"*99", false},
		{"*5", false},
		{"*101", true},
		{"#101", true},
		{"*1000", true}, // more digits, value > 100
		{"100", true},   // without a prefix, any first digit 1-9 will do
		{"5", true},
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			err := NewOrbitTable().New(orbit("R", tt.number, tt.number))
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidNumber)
			assert.Contains(t, err.Error(), "greater than 100")
			assert.Contains(t, err.Error(), `"`+tt.number+`"`)
		})
	}
}

// The end of a range is checked like the start, and named as the end.
func TestRuleNumberFormatAppliesToEnd(t *testing.T) {
	err := NewOrbitTable().New(orbit("R", "100", "1x0"))
	require.ErrorIs(t, err, ErrInvalidNumber)
	assert.Equal(t, `orbit range "R": end "1x0": not a valid orbit number: only digits 0-9 may follow the optional * or # prefix`, err.Error())
}
