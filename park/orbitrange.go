package park

import (
	"fmt"
	"strings"
)

// RangeType is the -Type of an orbit range (Lync 2013 February 2013 CU).
type RangeType string

const (
	// CallPark ranges hold the orbits a CPS parks calls on. The default when
	// the type is empty.
	CallPark RangeType = "CallPark"
	// GroupPickup ranges hold Group Call Pickup numbers.
	GroupPickup RangeType = "GroupPickup"
)

// canonical returns the type in its documented spelling: empty means
// CallPark, and the case is ignored as PowerShell ignores it for enums.
func (t RangeType) canonical() (RangeType, bool) {
	switch {
	case t == "", strings.EqualFold(string(t), string(CallPark)):
		return CallPark, true
	case strings.EqualFold(string(t), string(GroupPickup)):
		return GroupPickup, true
	}
	return t, false
}

// Limits of SPEC section 1, from "Create or modify a call park orbit range":
// "fewer than 10,000 orbits per range and fewer than 50,000 orbits per pool".
const (
	// MaxRangeSize is the largest allowed number of orbits in one range.
	MaxRangeSize = 9_999
	// MaxPoolSize is the largest allowed number of orbits owned by one pool,
	// over all its ranges of both types.
	MaxPoolSize = 49_999
)

// OrbitRange is one row of the deployment-wide call park orbit table
// (New-CsCallParkOrbit).
type OrbitRange struct {
	// Identity is the unique name of the range (-Identity).
	Identity string
	// NumberRangeStart is the first number of the range, e.g. "7000" or "*101".
	NumberRangeStart string
	// NumberRangeEnd is the last number, of the same prefix and length.
	NumberRangeEnd string
	// CallParkService is the FQDN of the pool that owns the range: dialled
	// numbers of the range are routed to it.
	CallParkService string
	// Type is CallPark (also when empty) or GroupPickup.
	Type RangeType
}

// span is the parsed interval of a range.
type span struct {
	key    numKey
	lo, hi int
}

// size is the count of numbers in the span.
func (s span) size() int { return s.hi - s.lo + 1 }

// parseSpan checks the number rules of one range on its own: valid numbers,
// same prefix, same length, start <= end. The error names the range.
func (r OrbitRange) parseSpan() (span, error) {
	start, p := scanNumber(r.NumberRangeStart)
	if p != problemNone {
		return span{}, fmt.Errorf("orbit range %q: start %q: %w: %s",
			r.Identity, r.NumberRangeStart, ErrInvalidNumber, p.explain(r.NumberRangeStart))
	}
	end, p := scanNumber(r.NumberRangeEnd)
	if p != problemNone {
		return span{}, fmt.Errorf("orbit range %q: end %q: %w: %s",
			r.Identity, r.NumberRangeEnd, ErrInvalidNumber, p.explain(r.NumberRangeEnd))
	}
	if start.prefix != end.prefix {
		return span{}, fmt.Errorf("orbit range %q: start %q (prefix %s) and end %q (prefix %s): %w",
			r.Identity, r.NumberRangeStart, start.prefixName(), r.NumberRangeEnd, end.prefixName(), ErrPrefixMismatch)
	}
	if start.digits != end.digits {
		return span{}, fmt.Errorf("orbit range %q: start %q (%d digits) and end %q (%d digits): %w",
			r.Identity, r.NumberRangeStart, start.digits, r.NumberRangeEnd, end.digits, ErrLengthMismatch)
	}
	if start.value > end.value {
		return span{}, fmt.Errorf("orbit range %q: start %q is greater than end %q: %w",
			r.Identity, r.NumberRangeStart, r.NumberRangeEnd, ErrStartAfterEnd)
	}
	return span{key: start.numKey, lo: start.value, hi: end.value}, nil
}

// Size is the count of numbers in the range, or 0 if its start or end is not
// valid.
func (r OrbitRange) Size() int {
	s, err := r.parseSpan()
	if err != nil {
		return 0
	}
	return s.size()
}

// Contains reports whether number lies in the range: it has exactly the
// range's prefix and length, and start <= number <= end. An invalid number
// or range contains nothing. number is taken as is; see OrbitTable.Lookup
// for dialled strings with URI parameters.
func (r OrbitRange) Contains(number string) bool {
	s, err := r.parseSpan()
	if err != nil {
		return false
	}
	n, p := scanNumber(number)
	return p == problemNone && n.numKey == s.key && s.lo <= n.value && n.value <= s.hi
}

// Numbers lists every number of the range in order, or nil if the range is
// not valid. Valid ranges hold fewer than 10,000 numbers.
func (r OrbitRange) Numbers() []string {
	s, err := r.parseSpan()
	if err != nil {
		return nil
	}
	out := make([]string, 0, s.size())
	for v := s.lo; v <= s.hi; v++ {
		out = append(out, s.key.format(v))
	}
	return out
}

// OrbitChange is Set-CsCallParkOrbit: nil fields are left alone.
// An empty change is refused (ErrNoChange), whoever asks for it.
type OrbitChange struct {
	NumberRangeStart, NumberRangeEnd, CallParkService *string
	Type                                              *RangeType
}

// apply returns r with the change made.
func (c OrbitChange) apply(r OrbitRange) OrbitRange {
	if c.NumberRangeStart != nil {
		r.NumberRangeStart = *c.NumberRangeStart
	}
	if c.NumberRangeEnd != nil {
		r.NumberRangeEnd = *c.NumberRangeEnd
	}
	if c.CallParkService != nil {
		r.CallParkService = *c.CallParkService
	}
	if c.Type != nil {
		r.Type = *c.Type
	}
	return r
}

// serviceIDPrefix marks a service ID, which Lync accepts in place of the pool
// FQDN ("ApplicationServer:pool0.litwareinc.com", New-CsCallParkOrbit), and
// serviceIdentityPrefix the identity Get-CsService shows for it
// ("service:ApplicationServer:pool0.litwareinc.com").
const (
	serviceIDPrefix       = "applicationserver:"
	serviceIdentityPrefix = "service:"
)

// PoolName reduces a pool's name as an administrator may write it (its FQDN in
// any case, a service ID or a service identity) to the key pools are compared
// by: the bare FQDN, lower case (DNS names ignore case). Every cmdlet reads pool
// names through it.
func PoolName(service string) string {
	s := strings.ToLower(strings.TrimSpace(service))
	s = strings.TrimPrefix(s, serviceIdentityPrefix)
	return strings.TrimSpace(strings.TrimPrefix(s, serviceIDPrefix))
}

// ParseRangeType reads an orbit range's -Type as the cmdlets take it: CallPark
// (the default, when t is empty) or GroupPickup, in any case.
func ParseRangeType(t string) (RangeType, error) {
	typ, ok := RangeType(t).canonical()
	if !ok {
		return typ, fmt.Errorf("orbit range type %q: want CallPark or GroupPickup", t)
	}
	return typ, nil
}
