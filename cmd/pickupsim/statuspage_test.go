package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/scenarios/report/browsertest"
	"github.com/pickupsim/pickupsim/sip/phone"
)

func TestStatusPageShowsAnOutageAndResiliencyModeLive(t *testing.T) {
	bin := browsertest.Chromium(t)
	// A 3 s registrar failover timer, long enough to see it count down.
	s, api, _ := startServe(t, strings.Replace(labForTests, "registrarFailoverTimer: 1s", "registrarFailoverTimer: 3s", 1))
	phones := phone.NewFleet(s.Network)
	t.Cleanup(phones.Close)
	bob, err := phones.NewPhone("bob")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = bob.Register(ctx)
	require.NoError(t, err)

	page := browsertest.Open(t, bin, s.AdminURL+"/", 1280, 900)
	phase := `document.querySelector('[data-pool="pool01.contoso.com"]')?.dataset.phase ?? null`
	mode := `document.querySelector('[data-user="bob"]')?.dataset.mode ?? null`
	page.WaitFor("pool01 before the outage", phase, `"normal"`)
	page.WaitFor("bob before the outage", mode, `"normal"`)
	page.Eval(`window.loadedOnce = "still the same page"`) // lost if the page reloads

	cmdlet(t, api, "Invoke-PoolOutage", map[string]any{"PoolFqdn": "pool01.contoso.com"})
	page.WaitFor("pool01 after the outage", phase, `"outage"`)
	page.WaitFor("bob signed out", mode, `"offline"`)
	// The registrar failover timer counts down on pool01's row.
	timer := `document.querySelector('[data-pool="pool01.contoso.com"] .countdown')?.textContent ?? null`
	var shown string
	require.NoError(t, json.Unmarshal([]byte(page.Eval(timer)), &shown))
	require.Regexp(t, `^pool02.contoso.com takes its users in [1-3] s$`, shown)

	time.Sleep(3100 * time.Millisecond) // the timer runs out
	reg, err := bob.Register(ctx)
	require.NoError(t, err)
	p2, _ := s.Network.Pool("pool02.contoso.com")
	require.Equal(t, p2.Addr(), reg.Registrar)
	page.WaitFor("bob on the backup registrar", mode, `"resiliency"`)
	page.WaitFor("bob's row", `document.querySelector('[data-user="bob"]').dataset.pool`, `"pool02.contoso.com"`)
	require.Equal(t, `"still the same page"`, page.Eval(`window.loadedOnce`), "the page updated without a reload")

	// Failover completes: bob is served out of resiliency mode at once, though his phone
	// was told "resiliency" and learns otherwise only at its next REGISTER.
	cmdlet(t, api, "Invoke-CsPoolFailOver", map[string]any{"PoolFqdn": "pool01", "DisasterMode": true})
	cmdlet(t, api, "Complete-PoolFailOver", map[string]any{"PoolFqdn": "pool01"})
	page.WaitFor("bob after failover completed", mode, `"normal"`)
	page.WaitFor("what bob's phone shows", `document.querySelector('[data-user="bob"] td:nth-child(6)').textContent`, `"resiliency"`)

	// The log is the server's: a reloaded page shows everything that happened before it.
	page.Eval(`location.reload()`)
	page.WaitFor("the page reloaded", `window.loadedOnce ?? null`, `null`)
	page.WaitFor("bob after the reload", mode, `"normal"`)
	var log string
	require.NoError(t, json.Unmarshal([]byte(page.Eval(`document.getElementById("log").innerText`)), &log))
	for _, line := range []string{
		"pool pool01.contoso.com: pool outage: normal -> outage",
		"user bob: offline -> resiliency on pool02.contoso.com",
		"pool pool01.contoso.com: failover completion: failing-over -> failed-over",
		"user bob: resiliency on pool02.contoso.com -> normal on pool02.contoso.com",
	} {
		require.Contains(t, log, line, "the page's log of changes, after a reload")
	}
}
