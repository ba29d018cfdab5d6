package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/scenarios/report/browsertest"
	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// The status page lists the busy lamp subscriptions the pools hold, with what each lamp
// shows, live; the metrics count NOTIFYs and directed pickups by how they were made.
func TestBusyLampsOnTheStatusPageAndInMetrics(t *testing.T) {
	bin := browsertest.Chromium(t)
	s, _, _ := startServe(t, labForTests)
	phones := phone.NewFleet(s.Network)
	t.Cleanup(phones.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ph := map[string]*phone.Phone{}
	for _, u := range []string{"alice", "bob", "carol", "erin"} {
		p, err := phones.NewPhone(u)
		require.NoError(t, err)
		_, err = p.Register(ctx)
		require.NoError(t, err)
		ph[u] = p
	}
	require.NoError(t, ph["carol"].Subscribe(ctx, "bob"))
	require.NoError(t, ph["erin"].Subscribe(ctx, "100"))

	page := browsertest.Open(t, bin, s.AdminURL+"/", 1280, 900)
	carolsLamp := `document.querySelector('[data-subscriber="carol"][data-watching="bob"]')?.dataset.state ?? null`
	page.WaitFor("carol's lamp of bob", carolsLamp, `"terminated"`)
	page.WaitFor("erin's lamp of 100", `document.querySelector('[data-subscriber="erin"][data-watching="100"]')?.dataset.state ?? null`, `"terminated"`)

	out, err := ph["alice"].Dial("bob")
	require.NoError(t, err)
	in, err := ph["bob"].NextIncoming(ctx)
	require.NoError(t, err)
	_, err = ph["carol"].WaitLamp(ctx, "bob", func(l phone.Lamp) bool { return l.State == dialoginfo.Early })
	require.NoError(t, err)
	page.WaitFor("carol's lamp of bob ringing", carolsLamp, `"early"`)

	pick, err := ph["carol"].PickUpByReplaces("bob")
	require.NoError(t, err)
	_, err = pick.WaitState(ctx, phone.Established)
	require.NoError(t, err)
	_, err = in.WaitState(ctx, phone.Cancelled)
	require.NoError(t, err)
	require.NoError(t, pick.Hangup(ctx))
	_, err = out.WaitState(ctx, phone.Ended)
	require.NoError(t, err)

	refused, err := ph["erin"].Dial("**bob") // nothing rings bob now
	require.NoError(t, err)
	st, err := refused.WaitState(ctx, phone.Failed, phone.Established)
	require.NoError(t, err)
	require.Equal(t, phone.Failed, st)

	m := metricsText(t, s.AdminURL)
	assert.Contains(t, m, `pickupsim_directed_pickups_total{by="replaces",pool="pool01.contoso.com",reason="picked-up",result="accepted"} 1`)
	assert.Contains(t, m, `pickupsim_directed_pickups_total{by="code",pool="pool02.contoso.com",reason="nothing-to-pick-up",result="rejected"} 1`)
	assert.Regexp(t, `pickupsim_dialog_notifies_total\{pool="pool01.contoso.com",result="answered"\} [1-9]`, m)
	assert.Contains(t, m, `pickupsim_dialog_subscriptions{pool="pool01.contoso.com"} 2`, "carol's, and erin's through pool02")
}
