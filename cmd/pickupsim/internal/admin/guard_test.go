package admin

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const outageBody = `{"PoolFqdn":"pool01.contoso.com"}`

// post sends a cmdlet POST with the given headers and returns the status code.
func (f *fixture) post(t *testing.T, cmdlet, body string, headers map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.http.URL+"/api/cmdlets/"+cmdlet, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

func TestCmdletsRequireJSON(t *testing.T) {
	f := newFixture(t, "")
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		assert.Equal(t, http.StatusUnsupportedMediaType, f.post(t, "Invoke-PoolOutage", outageBody, map[string]string{"Content-Type": ct}), ct)
	}
	assert.Equal(t, "normal", f.phase(pool01), "no refused request took the pool down")
	assert.Equal(t, http.StatusOK, f.post(t, "Invoke-PoolOutage", outageBody, map[string]string{"Content-Type": "application/json; charset=utf-8"}))
	assert.Equal(t, "outage", f.phase(pool01))
}

func TestCrossOriginRequestsAreRefused(t *testing.T) {
	f := newFixture(t, "")
	json := map[string]string{"Content-Type": "application/json"}
	with := func(k, v string) map[string]string {
		return map[string]string{"Content-Type": "application/json", k: v}
	}
	assert.Equal(t, http.StatusForbidden, f.post(t, "Invoke-PoolOutage", outageBody, with("Origin", "http://evil.example.com")))
	assert.Equal(t, http.StatusForbidden, f.post(t, "Invoke-PoolOutage", outageBody, with("Origin", "null")))
	assert.Equal(t, http.StatusForbidden, f.post(t, "Invoke-PoolOutage", outageBody, with("Sec-Fetch-Site", "cross-site")))
	res, err := http.Get(f.http.URL + "/api/status")
	require.NoError(t, err)
	res.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, f.http.URL+"/api/status", nil)
	req.Header.Set("Origin", "http://evil.example.com")
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "a foreign origin reads nothing either")
	assert.Equal(t, "normal", f.phase(pool01))

	assert.Equal(t, http.StatusOK, f.post(t, "Invoke-PoolOutage", outageBody, with("Origin", f.http.URL)), "the API's own page")
	assert.Equal(t, http.StatusOK, f.post(t, "Invoke-PoolRecovery", outageBody, json), "a client that sends no Origin")
}

// TestDNSRebindingIsRefused: without a token, a request naming another host (a page whose
// name resolves to 127.0.0.1) is refused; loopback names with the right port pass.
func TestDNSRebindingIsRefused(t *testing.T) {
	f := newFixture(t, "")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(f.http.URL, "http://"))
	for _, host := range []string{"evil.example.com:" + port, "evil.example.com", "127.0.0.1:1", "localhost"} {
		assert.Equal(t, http.StatusForbidden, f.post(t, "Invoke-PoolOutage", outageBody,
			map[string]string{"Content-Type": "application/json", "Host": host}), host)
	}
	assert.Equal(t, "normal", f.phase(pool01))
	for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port, "LOCALHOST:" + port} {
		req, _ := http.NewRequest(http.MethodGet, f.http.URL+"/api/status", nil)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, host)
	}

	g := newFixture(t, "s3cret")
	assert.Equal(t, http.StatusOK, g.post(t, "Invoke-PoolOutage", outageBody,
		map[string]string{"Content-Type": "application/json", "Host": "lab.example.com:" + port, "Authorization": "Bearer s3cret"}),
		"with a token, any name may reach the API")
}

func TestCmdletBodiesAreLimited(t *testing.T) {
	f := newFixture(t, "")
	big := `{"PoolFqdn":"` + strings.Repeat("x", maxBody) + `"}`
	assert.Equal(t, http.StatusRequestEntityTooLarge, f.post(t, "Invoke-PoolOutage", big, map[string]string{"Content-Type": "application/json"}))
	assert.Equal(t, "normal", f.phase(pool01))
}

// TestASlowBodyIsCutOff: a client that sends its body a byte at a time is answered 408
// when the body timeout runs out, and its cmdlet is not run.
func TestASlowBodyIsCutOff(t *testing.T) {
	f := newFixture(t, "")
	f.srv.cfg.BodyTimeout = 300 * time.Millisecond
	c, err := net.Dial("tcp", strings.TrimPrefix(f.http.URL, "http://"))
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprintf(c, "POST /api/cmdlets/Invoke-PoolOutage HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		c.RemoteAddr(), len(outageBody))
	start := time.Now()
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(c).ReadString('\n')
		answered <- line
	}()
	var line string
drip:
	for i := 0; i < len(outageBody)-1; i++ { // never the whole body
		select {
		case line = <-answered:
			break drip
		case <-time.After(100 * time.Millisecond):
			c.Write([]byte{outageBody[i]})
		}
	}
	if line == "" {
		select {
		case line = <-answered:
		case <-time.After(2 * time.Second):
		}
	}
	assert.Contains(t, line, "408", "the server answers the slow body with 408")
	assert.Less(t, time.Since(start), 2*time.Second, "and does so when the body timeout runs out")
	assert.Equal(t, "normal", f.phase(pool01), "the cmdlet was not run")
}
