package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/phone"
)

const (
	pool01 = "pool01.contoso.com"
	pool02 = "pool02.contoso.com"
)

// fixture is a running network with its admin API on an httptest server, whose
// configuration is kept in a copy of scenarios/topologies/contoso.yaml.
type fixture struct {
	t      *testing.T
	file   string
	net    *sip.Network
	srv    *Server
	http   *httptest.Server
	client *Client
}

func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	file := filepath.Join(t.TempDir(), "lab.yaml")
	data, err := os.ReadFile("../../../../scenarios/topologies/contoso.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, data, 0o644))
	return startFixture(t, file, token)
}

func startFixture(t *testing.T, file, token string) *fixture {
	t.Helper()
	topo, err := scenario.LoadTopologyFile(file)
	require.NoError(t, err)
	n, _, err := sip.Start(sip.Config{Topology: topo})
	require.NoError(t, err)
	srv := New(Config{Network: n, TopologyFile: file, Token: token})
	hs := httptest.NewServer(srv.Handler())
	f := &fixture{t: t, file: file, net: n, srv: srv, http: hs, client: &Client{Base: hs.URL, Token: token}}
	t.Cleanup(f.stop)
	return f
}

func (f *fixture) stop() {
	f.http.Close()
	f.srv.Close()
	f.net.Close()
}

func (f *fixture) run(cmdlet string, params map[string]any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return f.client.Run(ctx, cmdlet, params)
}

func (f *fixture) mustRun(cmdlet string, params map[string]any) json.RawMessage {
	f.t.Helper()
	out, err := f.run(cmdlet, params)
	require.NoError(f.t, err, cmdlet)
	return out
}

func (f *fixture) status() Status {
	f.t.Helper()
	st, err := f.client.Status(context.Background())
	require.NoError(f.t, err)
	st.Now = time.Time{} // the clock, not the state
	return st
}

func (f *fixture) phase(pool string) string {
	for _, p := range f.status().Pools {
		if p.FQDN == pool {
			return p.Phase
		}
	}
	return ""
}

func (f *fixture) orbit(id string) Orbit {
	for _, o := range f.status().Orbits {
		if o.Identity == id {
			return o
		}
	}
	return Orbit{}
}

func (f *fixture) user(name string) UserStatus {
	for _, u := range f.status().Users {
		if u.Name == name {
			return u
		}
	}
	return UserStatus{}
}

func TestDisasterRecoveryCmdletsWalkTheSeedRunbook(t *testing.T) {
	f := newFixture(t, "")
	steps := []struct {
		cmdlet, phase string
		switches      map[string]any
	}{
		{"Invoke-PoolOutage", "outage", nil},
		{"Invoke-CsPoolFailOver", "failing-over", map[string]any{"DisasterMode": true}},
		{"Complete-PoolFailOver", "failed-over", nil},
		{"Invoke-PoolRecovery", "failed-over", nil},
		{"Invoke-CsPoolFailBack", "failing-back", nil},
		{"Complete-PoolFailBack", "normal", nil},
		// A planned failover: the pool keeps answering.
		{"Invoke-CsPoolFailOver", "failing-over", nil},
		{"Complete-PoolFailOver", "failed-over", nil},
		{"Invoke-CsPoolFailBack", "failing-back", nil},
		{"Complete-PoolFailBack", "normal", nil},
	}
	for _, s := range steps {
		params := map[string]any{"PoolFqdn": pool01}
		for k, v := range s.switches {
			params[k] = v
		}
		out := f.mustRun(s.cmdlet, params)
		var res PhaseResult
		require.NoError(t, json.Unmarshal(out, &res))
		assert.Equal(t, s.phase, res.Phase, s.cmdlet)
		assert.Equal(t, s.phase, f.phase(pool01), s.cmdlet)
	}
}

func TestOrbitCmdlets(t *testing.T) {
	f := newFixture(t, "")
	var list []Orbit
	require.NoError(t, json.Unmarshal(f.mustRun("Get-CsCallParkOrbit", nil), &list))
	assert.Len(t, list, 3)

	f.mustRun("New-CsCallParkOrbit", map[string]any{"Identity": "park-pool02", "NumberRangeStart": "*7100",
		"NumberRangeEnd": "*7199", "CallParkService": "service:ApplicationServer:" + pool02})
	assert.Equal(t, Orbit{"park-pool02", "*7100", "*7199", pool02, "CallPark"}, f.orbit("park-pool02"))

	f.mustRun("Set-CsCallParkOrbit", map[string]any{"Identity": "pickup-pool01", "CallParkService": pool02})
	assert.Equal(t, pool02, f.orbit("pickup-pool01").CallParkService)

	require.NoError(t, json.Unmarshal(f.mustRun("Get-CsCallParkOrbit", map[string]any{"identity": "pickup-pool01"}), &list))
	assert.Equal(t, []Orbit{{"pickup-pool01", "100", "199", pool02, "GroupPickup"}}, list)

	f.mustRun("Remove-CsCallParkOrbit", map[string]any{"Identity": "park-pool02"})
	assert.Empty(t, f.orbit("park-pool02").Identity)
}

func TestCpsAndPickupCmdlets(t *testing.T) {
	f := newFixture(t, "")
	var cps CPSJSON
	require.NoError(t, json.Unmarshal(f.mustRun("Set-CsCpsConfiguration", map[string]any{"Identity": pool02,
		"CallPickupTimeoutThreshold": "00:02:00", "MaxCallPickupAttempts": "3", "EnableMusicOnHold": "$false",
		"OnTimeoutURI": "sip:operator@contoso.com"}), &cps))
	want := CPSJSON{"00:02:00", 3, "sip:operator@contoso.com", false}
	assert.Equal(t, want, cps)
	require.NoError(t, json.Unmarshal(f.mustRun("Get-CsCpsConfiguration", map[string]any{"Identity": pool02}), &cps))
	assert.Equal(t, want, cps)

	// Example 1 of Set-CsCpsConfiguration: one parameter changes, the others are kept.
	require.NoError(t, json.Unmarshal(f.mustRun("Set-CsCpsConfiguration", map[string]any{"Identity": pool02, "MaxCallPickupAttempts": 5}), &cps))
	assert.Equal(t, CPSJSON{"00:02:00", 5, "sip:operator@contoso.com", false}, cps)
	// -OnTimeoutURI $Null removes the fallback, and only it.
	require.NoError(t, json.Unmarshal(f.mustRun("Set-CsCpsConfiguration", map[string]any{"Identity": pool02, "OnTimeoutURI": nil}), &cps))
	assert.Equal(t, CPSJSON{"00:02:00", 5, "", false}, cps)

	f.mustRun("New-CsGroupPickupUserOrbit", map[string]any{"User": "sip:alice@contoso.com", "Orbit": "150"})
	assert.Equal(t, "150", f.user("alice").PickupNumber)
	var pa PickupAssignment
	require.NoError(t, json.Unmarshal(f.mustRun("Get-CsGroupPickupUserOrbit", map[string]any{"User": "alice"}), &pa))
	assert.Equal(t, PickupAssignment{"alice", "150"}, pa)
	f.mustRun("Remove-CsGroupPickupUserOrbit", map[string]any{"User": "alice"})
	assert.Empty(t, f.user("alice").PickupNumber)
}

func TestBadRequestsAreRefusedAndChangeNothing(t *testing.T) {
	f := newFixture(t, "")
	before, err := os.ReadFile(f.file)
	require.NoError(t, err)
	stBefore := f.status()
	cases := []struct {
		name, cmdlet, body, want string
		code                     int
	}{
		{"not JSON", "Set-CsCallParkOrbit", `{"Identity": `, "JSON object", 400},
		{"not an object", "Set-CsCallParkOrbit", `["pickup-pool01"]`, "JSON object", 400},
		{"unknown parameter", "Set-CsCallParkOrbit", `{"Identity":"pickup-pool01","CallParkService":"pool02.contoso.com","Colour":"red"}`, "-colour", 400},
		{"missing parameter", "New-CsCallParkOrbit", `{"Identity":"x","NumberRangeStart":"800"}`, "missing parameter -NumberRangeEnd", 400},
		{"wrong type", "Set-CsCpsConfiguration", `{"Identity":"pool01.contoso.com","MaxCallPickupAttempts":"many"}`, "whole number", 400},
		{"out of Lync's bounds", "Set-CsCpsConfiguration", `{"Identity":"pool01.contoso.com","MaxCallPickupAttempts":11}`, "MaxCallPickupAttempts 11", 400},
		{"overlapping range", "New-CsCallParkOrbit", `{"Identity":"x","NumberRangeStart":"150","NumberRangeEnd":"250","CallParkService":"pool01.contoso.com"}`, "overlap", 400},
		{"unknown pool", "Set-CsCallParkOrbit", `{"Identity":"pickup-pool01","CallParkService":"pool09.contoso.com"}`, "pool09", 400},
		{"nothing to set", "Set-CsCallParkOrbit", `{"Identity":"pickup-pool01"}`, "at least one", 400},
		{"bad type", "New-CsCallParkOrbit", `{"Identity":"x","NumberRangeStart":"800","NumberRangeEnd":"899","CallParkService":"pool01.contoso.com","Type":"Parking"}`, "CallPark or GroupPickup", 400},
		{"illegal transition", "Invoke-CsPoolFailOver", `{"PoolFqdn":"pool01.contoso.com","DisasterMode":true}`, "run Invoke-CsPoolFailOver without -DisasterMode", 400},
		{"no backup whatever the state", "Invoke-CsPoolFailOver", `{"PoolFqdn":"pool09.contoso.com"}`, "no such pool", 400},
		{"unknown pool for DR", "Invoke-PoolOutage", `{"PoolFqdn":"pool09.contoso.com"}`, "no such pool", 400},
		{"pickup number not in a GroupPickup range", "New-CsGroupPickupUserOrbit", `{"User":"alice","Orbit":"7001"}`, "not GroupPickup", 400},
		{"unknown cmdlet", "Stop-CsEverything", `{}`, "no cmdlet named", 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := http.Post(f.http.URL+"/api/cmdlets/"+c.cmdlet, "application/json", strings.NewReader(c.body))
			require.NoError(t, err)
			defer res.Body.Close()
			var e errorBody
			require.NoError(t, json.NewDecoder(res.Body).Decode(&e))
			assert.Equal(t, c.code, res.StatusCode)
			assert.NotEmpty(t, e.Error)
			assert.Contains(t, e.Error, c.want)
		})
	}
	after, err := os.ReadFile(f.file)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "the topology file is untouched")
	assert.Equal(t, stBefore, f.status(), "nothing changed")

	res, err := http.Get(f.http.URL + "/api/cmdlets/Get-CsCallParkOrbit")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
}

func TestChangesSurviveARestart(t *testing.T) {
	f := newFixture(t, "")
	f.mustRun("Set-CsCallParkOrbit", map[string]any{"Identity": "pickup-pool01", "CallParkService": pool02})
	f.mustRun("New-CsCallParkOrbit", map[string]any{"Identity": "park-pool02", "NumberRangeStart": "7100",
		"NumberRangeEnd": "7199", "CallParkService": pool02})
	f.mustRun("Remove-CsCallParkOrbit", map[string]any{"Identity": "park-pool01"})
	f.mustRun("Set-CsCpsConfiguration", map[string]any{"Identity": pool01, "MaxCallPickupAttempts": 4})
	f.mustRun("New-CsGroupPickupUserOrbit", map[string]any{"User": "dave", "Orbit": "100"})
	f.mustRun("Remove-CsGroupPickupUserOrbit", map[string]any{"User": "bob"})
	want := f.status()
	f.stop()

	g := startFixture(t, f.file, "")
	got := g.status()
	for i := range got.Pools {
		got.Pools[i].Address, want.Pools[i].Address = "", "" // port 0: a new port each start
	}
	got.Log, want.Log = nil, nil // this run's, not configuration
	assert.Equal(t, want, got)
	assert.Equal(t, 4, got.Pools[0].CPS.MaxCallPickupAttempts)
	assert.Equal(t, pool02, g.orbit("pickup-pool01").CallParkService)
	assert.Empty(t, g.user("bob").PickupNumber)
}

func TestTokenIsRequiredWhenSet(t *testing.T) {
	f := newFixture(t, "s3cret")
	for _, path := range []string{"/api/status", "/", "/metrics", "/api/cmdlets"} {
		res, err := http.Get(f.http.URL + path)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode, path)
	}
	req, _ := http.NewRequest(http.MethodPost, f.http.URL+"/api/cmdlets/Invoke-PoolOutage", bytes.NewReader([]byte(`{"PoolFqdn":"pool01.contoso.com"}`)))
	req.Header.Set("Authorization", "Bearer wrong")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Equal(t, "normal", f.phase(pool01), "a refused request changes nothing")

	res, err = http.Get(f.http.URL + "/api/status?token=s3cret")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "the status page passes the token in the query")
	f.mustRun("Invoke-PoolOutage", map[string]any{"PoolFqdn": pool01})
	assert.Equal(t, "outage", f.phase(pool01))
}

func TestBindingOffLoopbackNeedsAToken(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:5080", "[::1]:5080", "localhost:5080"} {
		assert.NoError(t, CheckBind(addr, ""), addr)
	}
	for _, addr := range []string{"0.0.0.0:5080", ":5080", "192.0.2.10:5080", "[::]:5080"} {
		assert.ErrorIs(t, CheckBind(addr, ""), ErrTokenRequired, addr)
		assert.NoError(t, CheckBind(addr, "t"), addr)
	}
}

func TestParseCmdletArgs(t *testing.T) {
	got, err := ParseCmdletArgs("set-cscallparkorbit", []string{"pickup-pool01", "-CallParkService", pool02, "-Type:GroupPickup"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"Identity": "pickup-pool01", "CallParkService": pool02, "Type": "GroupPickup"}, got)
	got, err = ParseCmdletArgs("Invoke-CsPoolFailOver", []string{pool01, "-DisasterMode"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"PoolFqdn": pool01, "DisasterMode": true}, got)
	got, err = ParseCmdletArgs("Set-CsCpsConfiguration", []string{"-Identity", pool01, "-EnableMusicOnHold", "$false"})
	require.NoError(t, err)
	assert.Equal(t, "$false", got["EnableMusicOnHold"])
	_, err = ParseCmdletArgs("Set-CsCallParkOrbit", []string{"-Identity", "a", "-identity", "b"})
	assert.ErrorContains(t, err, "twice")
	_, err = ParseCmdletArgs("Set-CsCallParkOrbit", []string{"-Identity", "a", "stray"})
	assert.ErrorContains(t, err, "unexpected argument")
	_, err = ParseCmdletArgs("Frobnicate-CsPool", nil)
	assert.Error(t, err)
}

func TestMetricsCountRegistrationsAndDisasterEvents(t *testing.T) {
	f := newFixture(t, "")
	phones := phone.NewFleet(f.net)
	t.Cleanup(phones.Close)
	ph, err := phones.NewPhone("bob")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = ph.Register(ctx)
	require.NoError(t, err)
	f.mustRun("Invoke-PoolOutage", map[string]any{"PoolFqdn": pool01})

	res, err := http.Get(f.http.URL + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	m := buf.String()
	assert.Contains(t, m, `pickupsim_registrations_total{code="200",pool="pool01.contoso.com"} 1`)
	assert.Contains(t, m, `pickupsim_sip_responses_total{code="200",method="REGISTER",pool="pool01.contoso.com"} 1`)
	assert.Contains(t, m, `pickupsim_dr_events_total{pool="pool01.contoso.com"} 1`)
	assert.Contains(t, m, `pickupsim_pool_up{pool="pool01.contoso.com"} 0`)
	assert.Contains(t, m, `pickupsim_pool_phase{phase="outage",pool="pool01.contoso.com"} 1`)
	assert.Contains(t, m, `pickupsim_park_requests_throttled_total{pool="pool02.contoso.com"} 0`)
}

func TestAFailoverSurvivesARestart(t *testing.T) {
	f := newFixture(t, "")
	f.mustRun("Invoke-PoolOutage", map[string]any{"PoolFqdn": pool01})
	f.mustRun("Invoke-CsPoolFailOver", map[string]any{"PoolFqdn": pool01, "DisasterMode": true})
	f.mustRun("Complete-PoolFailOver", map[string]any{"PoolFqdn": pool01})
	f.stop()

	g := startFixture(t, f.file, "")
	assert.Equal(t, "failed-over", g.phase(pool01), "the accepted failover is kept")
	assert.Equal(t, "normal", g.phase(pool02))
	p1, ok := g.net.Pool(pool01)
	require.True(t, ok)
	assert.False(t, p1.Up(), "pool01 starts down, as it was")
	g.mustRun("Invoke-PoolRecovery", map[string]any{"PoolFqdn": pool01})
	g.mustRun("Invoke-CsPoolFailBack", map[string]any{"PoolFqdn": pool01})
	assert.Equal(t, "failing-back", g.phase(pool01))
}
