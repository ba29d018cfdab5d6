package topology

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Log lines and JSON name the enumerations in words, in text and JSON alike.
func TestEnumerationsAreLoggedByName(t *testing.T) {
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("INVITE", "route", ToPickup, "phase", FailedOver, "mode", Resiliency, "event", FailBackStart)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("INVITE", "route", ToPickup, "phase", FailedOver, "mode", Resiliency, "event", FailBackStart)
	for _, out := range []string{text.String(), js.String()} {
		assert.Contains(t, out, "to-pickup")
		assert.Contains(t, out, "failed-over")
		assert.Contains(t, out, "resiliency")
		assert.Contains(t, out, "Invoke-CsPoolFailBack")
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &m))
	assert.Equal(t, "to-pickup", m["route"])
	for k := Rejected; k <= ToOrbit; k++ {
		assert.NotContains(t, k.String(), "route(", "every route kind has a name")
	}
	assert.Equal(t, "route(9)", RouteKind(9).String())
}
