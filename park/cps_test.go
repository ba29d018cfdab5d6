package park

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Set-CsCpsConfiguration defaults: 00:01:30, 1 attempt, no fallback, music
// on hold.
func TestCPSConfigDefaults(t *testing.T) {
	c := DefaultCPSConfig()
	assert.Equal(t, CPSConfig{
		CallPickupTimeoutThreshold: 90 * time.Second,
		MaxCallPickupAttempts:      1,
		OnTimeoutURI:               "",
		EnableMusicOnHold:          true,
	}, c)
	require.NoError(t, c.Validate())
}

// Rule: CallPickupTimeoutThreshold is 00:00:10 to 00:10:00.
func TestCPSRuleTimeoutBetween10sAnd10m(t *testing.T) {
	tests := []struct {
		d  time.Duration
		ok bool
	}{
		{0, false},
		{-10 * time.Second, false},
		{9 * time.Second, false},
		{10*time.Second - time.Millisecond, false},
		{10 * time.Second, true},
		{90 * time.Second, true},
		{10 * time.Minute, true},
		{10*time.Minute + time.Second, false},
		{time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			c := DefaultCPSConfig()
			c.CallPickupTimeoutThreshold = tt.d
			err := c.Validate()
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidSetting)
			assert.Contains(t, err.Error(), "CallPickupTimeoutThreshold")
			assert.Contains(t, err.Error(), FormatTimeout(tt.d))
		})
	}
}

// Rule: MaxCallPickupAttempts is 1 to 10.
func TestCPSRuleAttemptsBetween1And10(t *testing.T) {
	for _, tt := range []struct {
		n  int
		ok bool
	}{{-1, false}, {0, false}, {1, true}, {5, true}, {10, true}, {11, false}} {
		c := DefaultCPSConfig()
		c.MaxCallPickupAttempts = tt.n
		err := c.Validate()
		if tt.ok {
			assert.NoError(t, err, tt.n)
			continue
		}
		require.ErrorIs(t, err, ErrInvalidSetting, tt.n)
		assert.Contains(t, err.Error(), "MaxCallPickupAttempts")
	}
}

// Rule: OnTimeoutURI, when set, starts with "sip:".
func TestCPSRuleOnTimeoutURIStartsWithSip(t *testing.T) {
	for _, tt := range []struct {
		uri string
		ok  bool
	}{
		{"", true},
		{"sip:x@y", true},
		{"sip:rgs-operators@contoso.com", true},
		{"SIP:kenmyer@contoso.com", true},
		{"tel:1", false},
		{"tel:+14255550100", false},
		{"sips:x@y", false},
		{"kenmyer@contoso.com", false},
		{"sip:", false},
		{"sip: ", false},
		{" sip:x@y", false},
	} {
		c := DefaultCPSConfig()
		c.OnTimeoutURI = tt.uri
		err := c.Validate()
		if tt.ok {
			assert.NoError(t, err, tt.uri)
			continue
		}
		require.ErrorIs(t, err, ErrInvalidSetting, tt.uri)
		assert.Contains(t, err.Error(), `OnTimeoutURI "`+tt.uri+`"`)
	}
}

// Validate reports every bad setting at once.
func TestCPSValidateReportsAll(t *testing.T) {
	c := CPSConfig{CallPickupTimeoutThreshold: 9 * time.Second, MaxCallPickupAttempts: 11, OnTimeoutURI: "tel:1"}
	err := c.Validate()
	require.ErrorIs(t, err, ErrInvalidSetting)
	assert.Equal(t, "invalid call park service setting: CallPickupTimeoutThreshold 00:00:09 is outside 00:00:10 to 00:10:00\n"+
		"invalid call park service setting: MaxCallPickupAttempts 11 is outside 1 to 10\n"+
		`invalid call park service setting: OnTimeoutURI "tel:1" must be a SIP URI starting with "sip:" (a user or a Response Group)`,
		err.Error())
}

func TestParseTimeout(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"00:01:30", 90 * time.Second},
		{"00:00:10", 10 * time.Second},
		{"00:10:00", 10 * time.Minute},
		{"0:1:30", 90 * time.Second},
		{"01:00:00", time.Hour}, // parses; Validate refuses it
		{"00:00:09.5", 9500 * time.Millisecond},
		{"00:00:10.0000001", 10*time.Second + 100*time.Nanosecond},
		{" 00:01:30 ", 90 * time.Second},
		{"90s", 90 * time.Second},
		{"1m30s", 90 * time.Second},
		{"10m", 10 * time.Minute},
		{"0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTimeout(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseTimeoutBadInput(t *testing.T) {
	for _, in := range []string{
		"", "90", "abc", "1:30", "00:01", "00:60:00", "00:00:60", "00:01:30:00",
		"-00:00:10", "-10s", "00:-1:30", "00:01:3a", "00:01:30.", "00:01:30.1234567890",
		"aa:01:30", "00:001:30", "::", "+00:01:30", "1 m",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseTimeout(in)
			require.ErrorIs(t, err, ErrInvalidSetting)
			assert.Contains(t, err.Error(), "CallPickupTimeoutThreshold")
		})
	}
}

func TestFormatTimeout(t *testing.T) {
	assert.Equal(t, "00:01:30", FormatTimeout(90*time.Second))
	assert.Equal(t, "00:10:00", FormatTimeout(10*time.Minute))
	assert.Equal(t, "01:00:01", FormatTimeout(time.Hour+time.Second))
	assert.Equal(t, "00:00:09.5", FormatTimeout(9500*time.Millisecond))
	assert.Equal(t, "-00:00:10", FormatTimeout(-10*time.Second))
	assert.Equal(t, "00:00:00", FormatTimeout(0))
	for _, d := range []time.Duration{90 * time.Second, 9500 * time.Millisecond, 10*time.Second + 1} {
		got, err := ParseTimeout(FormatTimeout(d))
		require.NoError(t, err)
		assert.Equal(t, d, got, "round trip")
	}
}
