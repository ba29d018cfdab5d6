package admin

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGuardCountersAreExported(t *testing.T) {
	f := newFixture(t, "")
	res, err := http.Get(f.http.URL + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	assert.Contains(t, buf.String(), "\npickupsim_handler_panics_total 0\n")
	assert.Contains(t, buf.String(), "\npickupsim_dns_lookups_total 0\n")
	assert.Contains(t, buf.String(), `pickupsim_listener_up{pool="pool01.contoso.com",transport="tcp"} 1`)
	assert.Contains(t, buf.String(), `pickupsim_connections_refused_total{pool="pool01.contoso.com",transport="tcp"} 0`)
}
