package park

import (
	"fmt"
	"strings"
	"time"
)

// CPSChange is one Set-CsCpsConfiguration command: the parameters it names, nil for the
// ones it leaves alone. The cmdlet "modifies" the settings it is given and keeps the others
// (office-docs-powershell Set-CsCpsConfiguration.md, Example 1 changes
// MaxCallPickupAttempts alone), so every caller (the admin API, scenario steps, the Go API)
// applies a change to the pool's current settings rather than building a whole new
// configuration, which would silently reset what it does not name.
type CPSChange struct {
	CallPickupTimeoutThreshold *time.Duration
	MaxCallPickupAttempts      *int
	// OnTimeoutURI set to "" removes the fallback URI (Lync's $Null): unretrieved calls are
	// then disconnected after the last ring-back.
	OnTimeoutURI      *string
	EnableMusicOnHold *bool
}

// AllOf is the change that sets every parameter to c's value: a whole configuration given
// at once (a topology file's cps mapping, or a test).
func AllOf(c CPSConfig) CPSChange {
	return CPSChange{
		CallPickupTimeoutThreshold: &c.CallPickupTimeoutThreshold,
		MaxCallPickupAttempts:      &c.MaxCallPickupAttempts,
		OnTimeoutURI:               &c.OnTimeoutURI,
		EnableMusicOnHold:          &c.EnableMusicOnHold,
	}
}

// Empty reports whether the change names no parameter.
func (ch CPSChange) Empty() bool { return ch == CPSChange{} }

// Apply returns c with the change's parameters set; the result is not validated.
func (ch CPSChange) Apply(c CPSConfig) CPSConfig {
	if ch.CallPickupTimeoutThreshold != nil {
		c.CallPickupTimeoutThreshold = *ch.CallPickupTimeoutThreshold
	}
	if ch.MaxCallPickupAttempts != nil {
		c.MaxCallPickupAttempts = *ch.MaxCallPickupAttempts
	}
	if ch.OnTimeoutURI != nil {
		c.OnTimeoutURI = *ch.OnTimeoutURI
	}
	if ch.EnableMusicOnHold != nil {
		c.EnableMusicOnHold = *ch.EnableMusicOnHold
	}
	return c
}

// String renders the change as the cmdlet's parameters, in the cmdlet's order
// ("-MaxCallPickupAttempts 3 -EnableMusicOnHold $false"), for logs and reports.
func (ch CPSChange) String() string {
	var parts []string
	if ch.CallPickupTimeoutThreshold != nil {
		parts = append(parts, "-CallPickupTimeoutThreshold "+FormatTimeout(*ch.CallPickupTimeoutThreshold))
	}
	if ch.MaxCallPickupAttempts != nil {
		parts = append(parts, fmt.Sprintf("-MaxCallPickupAttempts %d", *ch.MaxCallPickupAttempts))
	}
	if ch.OnTimeoutURI != nil {
		if *ch.OnTimeoutURI == "" {
			parts = append(parts, "-OnTimeoutURI $null")
		} else {
			parts = append(parts, "-OnTimeoutURI "+*ch.OnTimeoutURI)
		}
	}
	if ch.EnableMusicOnHold != nil {
		parts = append(parts, fmt.Sprintf("-EnableMusicOnHold $%t", *ch.EnableMusicOnHold))
	}
	return strings.Join(parts, " ")
}
