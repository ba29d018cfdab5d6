package park

import "errors"

// Sentinel errors of the orbit table. Each states the rule of SPEC section 1
// that was broken; the returned error wraps it after the range identity and
// the offending value, so callers branch with errors.Is and administrators
// read the whole message.
var (
	// ErrInvalidNumber: a number is an optional * or #, a first digit 1-9 and
	// more digits, at most 8 after a prefix and 9 without, and greater than
	// 100 after a prefix (New-CsCallParkOrbit, -NumberRangeStart).
	ErrInvalidNumber = errors.New("not a valid orbit number")

	// ErrLengthMismatch: start and end of a range have the same length.
	ErrLengthMismatch = errors.New("start and end must have the same number of digits")

	// ErrPrefixMismatch: the end uses the same prefix (*, # or none) as the
	// start.
	ErrPrefixMismatch = errors.New("start and end must have the same prefix (*, # or none)")

	// ErrStartAfterEnd: the start of a range is not greater than its end.
	ErrStartAfterEnd = errors.New("start must not be greater than end")

	// ErrOverlap: no number belongs to two ranges.
	ErrOverlap = errors.New("orbit ranges must not overlap")

	// ErrRangeTooLarge: a range holds fewer than 10,000 numbers.
	ErrRangeTooLarge = errors.New("a range must hold fewer than 10,000 numbers")

	// ErrPoolFull: a pool owns fewer than 50,000 numbers over all its ranges.
	ErrPoolFull = errors.New("a pool must own fewer than 50,000 orbit numbers")

	// ErrDuplicateIdentity: identities are unique (compared without case).
	ErrDuplicateIdentity = errors.New("an orbit range with this identity already exists")

	// ErrUnknownIdentity: Set or Remove named a range that does not exist.
	ErrUnknownIdentity = errors.New("no orbit range has this identity")
	// ErrNoChange: Set named no parameter to change.
	ErrNoChange = errors.New("nothing to change: give at least one of NumberRangeStart, NumberRangeEnd, CallParkService, Type")

	// ErrMissingService: every range names the pool that owns it
	// (-CallParkService is required on New-CsCallParkOrbit).
	ErrMissingService = errors.New("the CallParkService (FQDN of the owning pool) must not be empty")

	// ErrInvalidType: the type of a range is CallPark or GroupPickup.
	ErrInvalidType = errors.New("type must be CallPark or GroupPickup")

	// ErrMissingIdentity: every range has a name (-Identity).
	ErrMissingIdentity = errors.New("the identity must not be empty")
)

// ErrInvalidSetting is wrapped by every CPSConfig and ParseTimeout error: a
// Set-CsCpsConfiguration value outside what Lync accepts.
var ErrInvalidSetting = errors.New("invalid call park service setting")
