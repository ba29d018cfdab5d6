package park

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOrbitRangeSize(t *testing.T) {
	tests := []struct {
		name       string
		start, end string
		want       int
	}{
		{"one number", "7000", "7000", 1},
		{"hundred", "7000", "7099", 100},
		{"prefixed", "*101", "*199", 99},
		{"largest allowed", "10000", "19998", 9_999},
		{"nine digits", "100000000", "999999999", 900_000_000},
		{"invalid start", "0", "9", 0},
		{"start after end", "200", "100", 0},
		{"length mismatch", "100", "1000", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, orbit("R", tt.start, tt.end).Size())
		})
	}
}

// Contains: exactly the same prefix and length, and start <= n <= end.
func TestOrbitRangeContains(t *testing.T) {
	tests := []struct {
		name   string
		r      OrbitRange
		number string
		want   bool
	}{
		{"start", orbit("R", "7000", "7099"), "7000", true},
		{"middle", orbit("R", "7000", "7099"), "7050", true},
		{"end", orbit("R", "7000", "7099"), "7099", true},
		{"below start", orbit("R", "7000", "7099"), "6999", false},
		{"above end", orbit("R", "7000", "7099"), "7100", false},
		{"same digits, prefix * not in unprefixed range", orbit("R", "7000", "7099"), "*7050", false},
		{"same digits, unprefixed not in * range", orbit("R", "*7000", "*7099"), "7050", false},
		{"* not in # range", orbit("R", "*7000", "*7099"), "#7050", false},
		{"prefixed hit", orbit("R", "#7000", "#7099"), "#7050", true},
		{"longer number", orbit("R", "7000", "7099"), "70500", false},
		{"shorter number", orbit("R", "100", "999"), "50", false},
		{"invalid number", orbit("R", "7000", "7099"), "70a0", false},
		{"parameters are not stripped", orbit("R", "7000", "7099"), "7050;phone-context=x", false},
		{"invalid range", orbit("R", "7099", "7000"), "7050", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.r.Contains(tt.number))
		})
	}
}

func TestOrbitRangeNumbers(t *testing.T) {
	assert.Equal(t, []string{"7000", "7001", "7002"}, orbit("R", "7000", "7002").Numbers())
	assert.Equal(t, []string{"*199", "*200", "*201"}, orbit("R", "*199", "*201").Numbers())
	assert.Equal(t, []string{"#998", "#999"}, orbit("R", "#998", "#999").Numbers())
	assert.Equal(t, []string{"5"}, orbit("R", "5", "5").Numbers())
	assert.Nil(t, orbit("R", "9", "1").Numbers())
	assert.Nil(t, orbit("R", "", "").Numbers())

	all := orbit("R", "10000", "19998").Numbers()
	assert.Len(t, all, 9_999)
	assert.Equal(t, "10000", all[0])
	assert.Equal(t, "19998", all[len(all)-1])
}
