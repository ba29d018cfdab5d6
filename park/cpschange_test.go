package park

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Set-CsCpsConfiguration Example 1 changes MaxCallPickupAttempts alone: every other setting
// keeps its current value, not its default.
func TestCPSChangeKeepsWhatItDoesNotName(t *testing.T) {
	current := CPSConfig{CallPickupTimeoutThreshold: 45 * time.Second, MaxCallPickupAttempts: 2,
		OnTimeoutURI: "sip:operator@contoso.com", EnableMusicOnHold: false}
	three := 3
	got := CPSChange{MaxCallPickupAttempts: &three}.Apply(current)
	want := current
	want.MaxCallPickupAttempts = 3
	assert.Equal(t, want, got)
}

func TestCPSChangeEveryParameter(t *testing.T) {
	d, n, uri, moh := 2*time.Minute, 4, "", true
	ch := CPSChange{CallPickupTimeoutThreshold: &d, MaxCallPickupAttempts: &n, OnTimeoutURI: &uri, EnableMusicOnHold: &moh}
	got := ch.Apply(CPSConfig{OnTimeoutURI: "sip:op@contoso.com"})
	assert.Equal(t, CPSConfig{CallPickupTimeoutThreshold: d, MaxCallPickupAttempts: n, EnableMusicOnHold: true}, got,
		"an empty OnTimeoutURI removes the fallback")
	assert.Equal(t, "-CallPickupTimeoutThreshold 00:02:00 -MaxCallPickupAttempts 4 -OnTimeoutURI $null -EnableMusicOnHold $true", ch.String())
	assert.False(t, ch.Empty())
	assert.True(t, CPSChange{}.Empty())
	assert.Equal(t, "", CPSChange{}.String())
}

func TestAllOfSetsTheWholeConfiguration(t *testing.T) {
	c := CPSConfig{CallPickupTimeoutThreshold: 30 * time.Second, MaxCallPickupAttempts: 5, OnTimeoutURI: "sip:rgs@contoso.com"}
	assert.Equal(t, c, AllOf(c).Apply(DefaultCPSConfig()))
}
