package main

import (
	"context"
	"testing"
	"time"
)

// TestBaresipDirectedPickupByCode: baresip 1.0.0 has no busy lamp (dialog event package)
// and no Replaces, but it picks up by feature code: carol's unmodified softphone dials
// **bob while alice's call rings bob, and talks to alice with RTP both ways; bob's phone
// stops ringing.
func TestBaresipDirectedPickupByCode(t *testing.T) {
	bin := requireTool(t, "baresip", "baresip-core")
	s, _, _ := startServe(t, labForTests)
	p1, _ := s.Network.Pool("pool01.contoso.com")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	alice, bob, carol := groupOnPool01(t, ctx, bin, p1.Addr())
	for _, p := range []*softphone{alice, bob, carol} {
		p.event(ctx, "REGISTER_OK", "200")
	}
	alice.do(ctx, "dial", "sip:bob@contoso.com")
	bob.event(ctx, "CALL_INCOMING", "")
	alice.event(ctx, "CALL_RINGING", "")
	carol.do(ctx, "dial", "sip:**bob@contoso.com")
	carol.event(ctx, "CALL_ESTABLISHED", "")
	alice.event(ctx, "CALL_ESTABLISHED", "")
	bob.event(ctx, "CALL_CLOSED", "")
	alice.mediaFlows(ctx, "alice picked up by carol")
	carol.mediaFlows(ctx, "carol picked up alice")
	alice.do(ctx, "hangup", "")
	carol.event(ctx, "CALL_CLOSED", "")
}
