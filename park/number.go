package park

import "fmt"

// Limits on one orbit number, from the -NumberRangeStart regex of
// New-CsCallParkOrbit: ([\*|#]?[1-9]\d{0,7})|([1-9]\d{0,8}).
//
// The regex's character class [\*|#] also admits a literal "|": that is a
// slip in the documented pattern (the text says "* or #"), so "|" is refused
// here.
const (
	maxDigits         = 9   // without a prefix
	maxPrefixedDigits = 8   // after * or #
	minPrefixedValue  = 101 // "the number following * or # must be greater than 100"
)

// numKey groups the numbers that can be compared with each other: only
// numbers of the same prefix and the same length form an interval.
type numKey struct {
	prefix byte // 0, '*' or '#'
	digits int
}

// number is a parsed orbit number. value fits an int: at most 9 digits.
type number struct {
	numKey
	value int
}

// problem says why a string is not an orbit number; problemNone if it is.
// An enum rather than an error keeps Lookup free of allocations.
type problem int

const (
	problemNone problem = iota
	problemEmpty
	problemPrefixOnly
	problemNotDigit
	problemLeadingZero
	problemTooLong
	problemTooLongPrefixed
	problemPrefixedTooSmall
)

// scanNumber parses s as an orbit number, with no allocation.
func scanNumber(s string) (number, problem) {
	if s == "" {
		return number{}, problemEmpty
	}
	var n number
	digits := s
	if s[0] == '*' || s[0] == '#' {
		n.prefix = s[0]
		digits = s[1:]
		if digits == "" {
			return number{}, problemPrefixOnly
		}
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return number{}, problemNotDigit
		}
	}
	if digits[0] == '0' {
		return number{}, problemLeadingZero
	}
	switch {
	case n.prefix == 0 && len(digits) > maxDigits:
		return number{}, problemTooLong
	case n.prefix != 0 && len(digits) > maxPrefixedDigits:
		return number{}, problemTooLongPrefixed
	}
	for i := 0; i < len(digits); i++ {
		n.value = n.value*10 + int(digits[i]-'0')
	}
	n.digits = len(digits)
	if n.prefix != 0 && n.value < minPrefixedValue {
		return number{}, problemPrefixedTooSmall
	}
	return n, problemNone
}

// explain is the rule a number broke, worded for a Lync administrator.
func (p problem) explain(s string) string {
	switch p {
	case problemEmpty:
		return "the number is empty"
	case problemPrefixOnly:
		return "* or # must be followed by digits"
	case problemNotDigit:
		return "only digits 0-9 may follow the optional * or # prefix"
	case problemLeadingZero:
		return "the first digit must be 1-9"
	case problemTooLong:
		return fmt.Sprintf("at most %d digits are allowed without a prefix, found %d", maxDigits, len(s))
	case problemTooLongPrefixed:
		return fmt.Sprintf("at most %d digits are allowed after * or #, found %d", maxPrefixedDigits, len(s)-1)
	case problemPrefixedTooSmall:
		return "the digits after * or # must be greater than 100"
	}
	return "unknown problem"
}

// format writes value as a number of this prefix and length. Values of one
// key all have the same number of digits (no leading zero), so no padding is
// needed.
func (k numKey) format(value int) string {
	if k.prefix == 0 {
		return fmt.Sprintf("%d", value)
	}
	return fmt.Sprintf("%c%d", k.prefix, value)
}

// prefixName names a prefix in messages.
func (k numKey) prefixName() string {
	if k.prefix == 0 {
		return "none"
	}
	return string(k.prefix)
}
