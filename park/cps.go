package park

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Defaults and bounds of Set-CsCpsConfiguration (office-docs-powershell
// Set-CsCpsConfiguration.md; SPEC section 1).
const (
	// DefaultCallPickupTimeoutThreshold is the documented default, 00:01:30.
	DefaultCallPickupTimeoutThreshold = 90 * time.Second
	// MinCallPickupTimeoutThreshold is the smallest allowed value, 00:00:10.
	MinCallPickupTimeoutThreshold = 10 * time.Second
	// MaxCallPickupTimeoutThreshold is the largest allowed value, 00:10:00.
	MaxCallPickupTimeoutThreshold = 10 * time.Minute

	// DefaultMaxCallPickupAttempts is the documented default: one ring-back.
	DefaultMaxCallPickupAttempts = 1
	// MinMaxCallPickupAttempts is the smallest allowed MaxCallPickupAttempts.
	MinMaxCallPickupAttempts = 1
	// MaxMaxCallPickupAttempts is the largest allowed MaxCallPickupAttempts.
	MaxMaxCallPickupAttempts = 10
)

// CPSConfig is Set-CsCpsConfiguration for one pool: what the pool's Call
// Park application does with a call nobody retrieves.
type CPSConfig struct {
	// CallPickupTimeoutThreshold is the time after parking before the call
	// rings back the parker. Default 90s, allowed 10s to 10m.
	CallPickupTimeoutThreshold time.Duration
	// MaxCallPickupAttempts is the number of ring-backs before the call goes
	// to OnTimeoutURI. Default 1, allowed 1 to 10.
	MaxCallPickupAttempts int
	// OnTimeoutURI is where the call goes after the last unanswered
	// ring-back: a user or Response Group, a URI starting with "sip:". Empty
	// means the call is disconnected.
	OnTimeoutURI string
	// EnableMusicOnHold plays music to the parked party. Default true.
	EnableMusicOnHold bool
}

// DefaultCPSConfig returns the documented defaults: 90s, 1 attempt, no
// fallback URI, music on hold on.
func DefaultCPSConfig() CPSConfig {
	return CPSConfig{
		CallPickupTimeoutThreshold: DefaultCallPickupTimeoutThreshold,
		MaxCallPickupAttempts:      DefaultMaxCallPickupAttempts,
		EnableMusicOnHold:          true,
	}
}

// Validate checks every setting against the bounds Lync enforces. It
// reports all bad settings at once, each wrapping ErrInvalidSetting.
func (c CPSConfig) Validate() error {
	var errs []error
	if d := c.CallPickupTimeoutThreshold; d < MinCallPickupTimeoutThreshold || d > MaxCallPickupTimeoutThreshold {
		errs = append(errs, fmt.Errorf("%w: CallPickupTimeoutThreshold %s is outside %s to %s",
			ErrInvalidSetting, FormatTimeout(d),
			FormatTimeout(MinCallPickupTimeoutThreshold), FormatTimeout(MaxCallPickupTimeoutThreshold)))
	}
	if n := c.MaxCallPickupAttempts; n < MinMaxCallPickupAttempts || n > MaxMaxCallPickupAttempts {
		errs = append(errs, fmt.Errorf("%w: MaxCallPickupAttempts %d is outside %d to %d",
			ErrInvalidSetting, n, MinMaxCallPickupAttempts, MaxMaxCallPickupAttempts))
	}
	if u := c.OnTimeoutURI; u != "" && !validSIPURI(u) {
		errs = append(errs, fmt.Errorf("%w: OnTimeoutURI %q must be a SIP URI starting with \"sip:\" (a user or a Response Group)",
			ErrInvalidSetting, u))
	}
	return errors.Join(errs...)
}

// validSIPURI reports whether u starts with "sip:" (scheme case ignored,
// RFC 3261 section 19.1.4) and names something after it.
func validSIPURI(u string) bool {
	const scheme = "sip:"
	return len(u) > len(scheme) && strings.EqualFold(u[:len(scheme)], scheme) && strings.TrimSpace(u[len(scheme):]) != ""
}

// ParseTimeout reads a CallPickupTimeoutThreshold as Lync writes it,
// hh:mm:ss with optional fractional seconds ("00:01:30"), or as a Go
// duration ("90s", "1m30s"). It does not check the 10s..10m bounds; Validate
// does. Errors wrap ErrInvalidSetting.
func ParseTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	if strings.Contains(s, ":") {
		d, err = parseHMS(s)
	} else {
		d, err = time.ParseDuration(s)
		if err != nil {
			err = errors.New("expected hh:mm:ss (00:01:30) or a duration with a unit (90s)")
		}
	}
	if err == nil && d < 0 {
		err = errors.New("must not be negative")
	}
	if err != nil {
		return 0, fmt.Errorf("%w: CallPickupTimeoutThreshold %q: %v", ErrInvalidSetting, s, err)
	}
	return d, nil
}

// parseHMS reads hh:mm:ss[.fffffff], the TimeSpan format of the cmdlets.
// Minutes and seconds are below 60. Two-part "mm:ss" is refused: .NET reads
// "01:30" as 1 h 30 min, a trap worth an error.
func parseHMS(s string) (time.Duration, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, errors.New("expected hh:mm:ss, e.g. 00:01:30")
	}
	secs, frac, hasFrac := strings.Cut(parts[2], ".")
	h, errH := atoiDigits(parts[0], 4)
	m, errM := atoiDigits(parts[1], 2)
	sec, errS := atoiDigits(secs, 2)
	if err := errors.Join(errH, errM, errS); err != nil || m > 59 || sec > 59 {
		return 0, errors.New("expected hh:mm:ss with minutes and seconds 00-59, e.g. 00:01:30")
	}
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second
	if hasFrac {
		f, err := atoiDigits(frac, 9)
		if err != nil {
			return 0, errors.New("expected 1 to 9 digits of fractional seconds after the dot")
		}
		for range 9 - len(frac) {
			f *= 10
		}
		d += time.Duration(f)
	}
	return d, nil
}

// atoiDigits reads 1 to maxLen ASCII digits, no sign.
func atoiDigits(s string, maxLen int) (int, error) {
	if s == "" || len(s) > maxLen || strings.TrimLeft(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}

// FormatTimeout writes d as Lync shows a TimeSpan: hh:mm:ss, with fractional
// seconds only when there are any ("00:01:30", "00:00:09.5").
func FormatTimeout(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	h, m, s := d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second
	out := fmt.Sprintf("%s%02d:%02d:%02d", sign, h, m, s)
	if ns := d % time.Second; ns != 0 {
		out += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
	}
	return out
}
