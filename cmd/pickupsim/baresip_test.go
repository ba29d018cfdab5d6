package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/cmd/pickupsim/internal/admin"
)

// userStatus reads one user's row of serve's status.
func userStatus(t *testing.T, c *admin.Client, name string) admin.UserStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.Status(ctx)
	require.NoError(t, err)
	for _, u := range st.Users {
		if u.Name == name {
			return u
		}
	}
	t.Fatalf("no user %s in the status", name)
	return admin.UserStatus{}
}

// TestBaresipGroupCallPickup: three unmodified baresip softphones against `pickupsim
// serve` register, alice calls bob, carol dials bob's pickup group and is connected to
// alice with RTP both ways, bob's ringing leg ends, and the status shows the bridged call.
func TestBaresipGroupCallPickup(t *testing.T) {
	bin := requireTool(t, "baresip", "baresip-core")
	s, api, _ := startServe(t, labForTests)
	p1, _ := s.Network.Pool("pool01.contoso.com")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	alice, bob, carol := groupOnPool01(t, ctx, bin, p1.Addr())
	for _, p := range []*softphone{alice, bob, carol} {
		p.event(ctx, "REGISTER_OK", "200")
		u := userStatus(t, api, p.name)
		assert.Equal(t, "pool01.contoso.com", u.RegisteredOn, p.name)
		assert.Equal(t, "normal", u.Mode, p.name)
		// baresip's mwi module subscribes to the mailbox (RFC 3842) once registered.
		assert.Contains(t, p.event(ctx, "MWI_NOTIFY", "").Param, "Messages-Waiting: no")
	}

	alice.do(ctx, "dial", "sip:bob@contoso.com")
	bob.event(ctx, "CALL_INCOMING", "")
	alice.event(ctx, "CALL_RINGING", "")
	eventually(t, "alice's call to be queued on 100", func() bool { return s.Network.QueueLength("100") == 1 })
	carol.do(ctx, "dial", "sip:100@contoso.com")
	carol.event(ctx, "CALL_ESTABLISHED", "")
	alice.event(ctx, "CALL_ESTABLISHED", "")
	bob.event(ctx, "CALL_CLOSED", "")
	assert.Zero(t, s.Network.QueueLength("100"))
	alice.mediaFlows(ctx, "alice picked up by carol")
	carol.mediaFlows(ctx, "carol picked up alice")

	st, err := api.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st.Bridged, 1, "the Call Park application bridges the picked-up call")
	assert.ElementsMatch(t, []string{"alice", "carol"}, []string{st.Bridged[0].A, st.Bridged[0].B})

	alice.do(ctx, "hangup", "")
	carol.event(ctx, "CALL_CLOSED", "")
}

// drTopology is the lab topology for the disaster-recovery test: pool01's users move to
// pool02; a 10 s registrar failover timer.
const drTopology = `domain: contoso.com
registrarFailoverTimer: 10s
pools:
  - {fqdn: pool01.contoso.com, backup: pool02.contoso.com}
  - {fqdn: pool02.contoso.com, backup: pool01.contoso.com}
users:
  - {name: alice, home: pool01}
  - {name: bob, home: pool01, pickup: 100}
  - {name: carol, home: pool01, pickup: 100}
  - {name: erin, home: pool02}
  - {name: frank, home: pool02}
orbits:
  - {identity: pickup-pool01, start: 100, end: 199, service: pool01, type: GroupPickup}
`

// TestBaresipThroughOutageFailoverAndFailback takes unmodified baresip softphones through
// the seed's disaster: pool01 fails, its users reach their backup registrar once the
// registrar failover timer has run out (resiliency mode: pickups refused), failover
// completes (pickups work through pool02), pool01 recovers and fails back. An established
// call set up before the outage keeps its RTP throughout and is held and resumed (a
// re-INVITE phone to phone) while its users' pool is down.
//
// The backup registrar: baresip 1.0.0 uses `outbound2` only with `sipnat=outbound`, and
// even then sends calls through the first proxy alone. What works unmodified is a second
// account (line) for the same user through the backup pool: the backup answers it 301
// while pool01 serves the user, and libre retries a refused registration after 30-60 s,
// so the line registers by itself once the failover timer has run out.
func TestBaresipThroughOutageFailoverAndFailback(t *testing.T) {
	bin := requireTool(t, "baresip", "baresip-core")
	s, api, _ := startServe(t, drTopology)
	p1, _ := s.Network.Pool("pool01.contoso.com")
	p2, _ := s.Network.Pool("pool02.contoso.com")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// pool01's users: line 0 through pool01, line 1 through the backup registrar pool02.
	home := map[string]*softphone{}
	for _, name := range []string{"alice", "bob", "carol"} {
		answer := "auto"
		if name == "bob" {
			answer = "manual" // bob's calls ring, to be picked up
		}
		p := startPhone(t, ctx, bin, name)
		p.addLine(ctx, account(name, p1.Addr(), answer))
		p.event(ctx, "REGISTER_OK", "200")
		p.addLine(ctx, account(name, p2.Addr(), answer))
		p.event(ctx, "REGISTER_FAIL", "301") // pool01 serves the user: the backup says so
		home[name] = p
	}
	alice, bob, carol := home["alice"], home["bob"], home["carol"]
	erin, frank := startPhone(t, ctx, bin, "erin"), startPhone(t, ctx, bin, "frank")
	erin.addLine(ctx, account("erin", p2.Addr(), "auto"))
	frank.addLine(ctx, account("frank", p2.Addr(), "auto"))
	erin.event(ctx, "REGISTER_OK", "200")
	frank.event(ctx, "REGISTER_OK", "200")

	// An established call before the outage: alice (pool01) and frank (pool02).
	alice.do(ctx, "dial", "sip:frank@contoso.com")
	call := alice.event(ctx, "CALL_ESTABLISHED", "").ID
	frank.event(ctx, "CALL_ESTABLISHED", "")
	frank.mediaFlows(ctx, "before the outage")

	// The outage. The registrar failover timer runs; pool01's users are offline.
	cmdlet(t, api, "Invoke-PoolOutage", map[string]any{"PoolFqdn": "pool01"})
	outage := time.Now()
	u := userStatus(t, api, "alice")
	assert.Equal(t, "offline", u.Mode)
	assert.Contains(t, u.Why, "registrar failover timer")
	frank.mediaFlows(ctx, "the established call, pool01 down")

	// Hold and resume go phone to phone (no pool Record-Routes): they work with pool01 down.
	alice.useLine(ctx, 0)
	alice.do(ctx, "hold", "")
	frank.event(ctx, "CALL_REMOTE_SDP", "offer")
	eventually(t, "frank to see the call held", func() bool { _, _, dir := frank.media(ctx); return dir == "recvonly" })
	alice.do(ctx, "resume", "")
	frank.event(ctx, "CALL_REMOTE_SDP", "offer")
	eventually(t, "frank to see the call resumed", func() bool { _, _, dir := frank.media(ctx); return dir == "sendrecv" })
	frank.mediaFlows(ctx, "resumed while pool01 is down")
	rx := alice.rtcpReceived(ctx, call, 0)

	// The backup lines register by themselves, in resiliency mode, after the timer.
	for _, p := range []*softphone{alice, bob, carol} {
		p.waitLine(ctx, 1, "OK")
		u := userStatus(t, api, p.name)
		assert.Equal(t, "pool02.contoso.com", u.RegisteredOn, p.name)
		assert.Equal(t, "resiliency", u.Mode, p.name)
	}
	assert.GreaterOrEqual(t, time.Since(outage), 10*time.Second, "not before the registrar failover timer ran out")

	// Resiliency mode: carol's pickup is refused with 480.
	carol.useLine(ctx, 1)
	carol.do(ctx, "dial", "sip:100@contoso.com")
	carol.event(ctx, "CALL_CLOSED", "480")

	// Failover completes, the pickup range follows the users: they are out of resiliency
	// mode at once, and pickups work through pool02.
	cmdlet(t, api, "Invoke-CsPoolFailOver", map[string]any{"PoolFqdn": "pool01", "DisasterMode": true})
	cmdlet(t, api, "Complete-PoolFailOver", map[string]any{"PoolFqdn": "pool01"})
	cmdlet(t, api, "Set-CsCallParkOrbit", map[string]any{"Identity": "pickup-pool01", "CallParkService": "pool02"})
	for _, name := range []string{"alice", "bob", "carol"} {
		u := userStatus(t, api, name)
		assert.Equal(t, "normal", u.Mode, name)
		assert.Equal(t, "resiliency", u.Told, "%s's phone learns it at its next refresh", name)
		assert.Equal(t, "pool02.contoso.com", u.ServedBy, name)
	}
	pickUp := func(stage string) {
		t.Helper()
		erin.do(ctx, "dial", "sip:bob@contoso.com")
		bob.event(ctx, "CALL_INCOMING", "")
		eventually(t, stage+": erin's call queued on 100", func() bool { return s.Network.QueueLength("100") == 1 })
		carol.do(ctx, "dial", "sip:100@contoso.com")
		carol.event(ctx, "CALL_ESTABLISHED", "")
		erin.event(ctx, "CALL_ESTABLISHED", "")
		bob.event(ctx, "CALL_CLOSED", "")
		carol.mediaFlows(ctx, stage+": carol picked up erin")
		erin.mediaFlows(ctx, stage+": erin picked up by carol")
		carol.do(ctx, "hangup", "")
		erin.event(ctx, "CALL_CLOSED", "")
	}
	pickUp("failed over")
	rx = alice.rtcpReceived(ctx, call, rx)

	// Failback: pool01 answers again; the backup signs its users out. baresip has no
	// command to re-register a line now, and libre backs off a failed registration (30 s,
	// then doubling up to 30 min), so the test adds each user's pool01 line again, as a
	// lab engineer restarts a phone.
	cmdlet(t, api, "Invoke-PoolRecovery", map[string]any{"PoolFqdn": "pool01"})
	cmdlet(t, api, "Invoke-CsPoolFailBack", map[string]any{"PoolFqdn": "pool01"})
	for _, p := range []*softphone{alice, bob, carol} {
		p.addLine(ctx, account(p.name, p1.Addr(), map[bool]string{true: "manual", false: "auto"}[p == bob]))
		p.waitLine(ctx, 2, "OK")
		assert.Equal(t, "resiliency", userStatus(t, api, p.name).Mode, "%s while failing back", p.name)
	}
	cmdlet(t, api, "Complete-PoolFailBack", map[string]any{"PoolFqdn": "pool01"})
	cmdlet(t, api, "Set-CsCallParkOrbit", map[string]any{"Identity": "pickup-pool01", "CallParkService": "pool01"})
	for _, name := range []string{"alice", "bob", "carol"} {
		u := userStatus(t, api, name)
		assert.Equal(t, "pool01.contoso.com", u.RegisteredOn, name)
		assert.Equal(t, "normal", u.Mode, name)
	}
	carol.useLine(ctx, 2)
	pickUp("failed back")

	// The call set up before the outage still carries RTP both ways, and hangs up normally.
	alice.rtcpReceived(ctx, call, rx)
	frank.mediaFlows(ctx, "after failback")
	frank.do(ctx, "hangup", "")
	alice.event(ctx, "CALL_CLOSED", "")
}
