package sip

import (
	"fmt"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// pickedUp waits until the picker's call is up with caller, the callee's ringing stopped,
// and media flows both ways between picker and caller.
func (l *lab) pickedUp(pick, out, in *phone.Call, caller string) {
	l.t.Helper()
	_, err := pick.WaitState(ctx(l.t), phone.Established)
	require.NoError(l.t, err, "the pickup is answered")
	require.Equal(l.t, caller, pick.Remote(), "the picker talks to the caller")
	_, err = in.WaitState(ctx(l.t), phone.Cancelled)
	require.NoError(l.t, err, "the callee's phone stops ringing")
	_, err = out.WaitState(ctx(l.t), phone.Established)
	require.NoError(l.t, err, "the caller is answered")
	mediaFlows(l.t, pick, out, 20)
}

// refused dials uri from user with extra headers through its registrar and returns the
// final refusal.
func (l *lab) refused(user string, uri gosip.Uri, extra ...gosip.Header) int {
	l.t.Helper()
	ph := l.phone(user)
	c, err := ph.DialURI(uri, ph.OutboundProxy(), extra...)
	require.NoError(l.t, err)
	st, err := c.WaitState(ctx(l.t), phone.Established, phone.Failed)
	require.NoError(l.t, err)
	require.Equal(l.t, phone.Failed, st, "%s's INVITE to %s should be refused", user, uri.String())
	return c.Outcome().Code
}

// Directed pickup by feature code: **bob, dialled by a colleague on bob's pool or on the
// other pool, is answered by the Call Park application of bob's pool, which connects the
// caller to the picker and stops bob's phone ringing.
func TestDirectedPickupByCode(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol", "dave", "erin")
	for _, picker := range []string{"dave", "erin"} {
		t.Run(picker, func(t *testing.T) {
			l := l.in(t)
			out, in := l.ring("alice", "bob")
			pick, err := l.phone(picker).Dial(topology.DefaultDirectedPickupPrefix + "bob")
			require.NoError(t, err)
			l.pickedUp(pick, out, in, "alice")
			require.NoError(t, pick.Hangup(ctx(t)))
			_, err = out.WaitState(ctx(t), phone.Ended)
			require.NoError(t, err)
		})
	}
	assert.Equal(t, 404, l.dialFails("dave", "**bob").Code, "nothing rings bob now")
}

// Directed pickup by Replaces (RFC 3891): the watcher's lamp shows bob's ringing dialog with
// its Call-ID and tags; an INVITE with Replaces built from them, sent through the watcher's
// own pool (bob's, or the other), takes the call over.
func TestDirectedPickupByReplacesFromTheLamp(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol", "dave", "erin")
	l.subscribe("carol", "bob")
	l.subscribe("erin", "bob")
	for _, picker := range []string{"carol", "erin"} {
		t.Run(picker, func(t *testing.T) {
			l := l.in(t)
			out, in := l.ring("alice", "bob")
			lp := l.lamp(picker, "bob", dialoginfo.Early, "alice")
			require.Equal(t, out.ID, lp.Dialog.CallID)
			pick, err := l.phone(picker).PickUpByReplaces("bob")
			require.NoError(t, err)
			l.pickedUp(pick, out, in, "alice")
			l.lamp(picker, "bob", dialoginfo.Terminated, "")
			require.NoError(t, pick.Hangup(ctx(t)))
			_, err = out.WaitState(ctx(t), phone.Ended)
			require.NoError(t, err)
		})
	}
}

// RFC 3891 section 3's refusals, over real SIP: early-only for an answered dialog is 486,
// a dialog that has ended is 603, a dialog nobody knows is 481.
func TestDirectedPickupByReplacesRefusals(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol")
	l.subscribe("carol", "bob")
	out, in := l.ring("alice", "bob")
	early := l.lamp("carol", "bob", dialoginfo.Early, "alice").Dialog
	require.NoError(t, in.Answer())
	l.established(out, in)
	l.lamp("carol", "bob", dialoginfo.Confirmed, "alice")
	bob := gosip.Uri{Scheme: "sip", User: "bob", Host: l.net.Domain()}
	replaces := func(d dialoginfo.Dialog, callID string) gosip.Header {
		return gosip.NewHeader("Replaces", fmt.Sprintf("%s;to-tag=%s;from-tag=%s;early-only", callID, d.LocalTag, d.RemoteTag))
	}
	assert.Equal(t, 486, l.refused("carol", bob, replaces(early, early.CallID)), "early-only, the dialog is answered")
	assert.Equal(t, 481, l.refused("carol", bob, replaces(early, "no-such-call")), "no such dialog")

	require.NoError(t, out.Hangup(ctx(t)))
	_, err := in.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err)
	l.clock.Advance(DialogProbeInterval) // the pool learns the call ended phone to phone
	l.lamp("carol", "bob", dialoginfo.Terminated, "")
	assert.Equal(t, 603, l.refused("carol", bob, replaces(early, early.CallID)), "the dialog has ended")
}

// Nobody in resiliency mode picks up or has a call picked up (SPEC section 5), by code or
// by Replaces: 480, as for a group's number.
func TestDirectedPickupRefusedInResiliencyMode(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol", "dave")
	l.outageAndTimer()
	l.reregister(topology.Resiliency, pool02, "alice", "bob", "carol", "dave")
	l.subscribe("carol", "bob")
	out, in := l.ring("alice", "bob")
	l.lamp("carol", "bob", dialoginfo.Early, "alice")
	assert.Equal(t, 480, l.dialFails("dave", "**bob").Code, "by code")
	pick, err := l.phone("carol").PickUpByReplaces("bob")
	require.NoError(t, err)
	st, err := pick.WaitState(ctx(t), phone.Established, phone.Failed)
	require.NoError(t, err)
	require.Equal(t, phone.Failed, st)
	assert.Equal(t, 480, pick.Outcome().Code, "by Replaces")
	assert.Equal(t, phone.Ringing, in.State(), "bob's phone still rings")
	require.NoError(t, out.Hangup(ctx(t)))
	_, err = in.WaitState(ctx(t), phone.Cancelled)
	require.NoError(t, err)
}

// A Replaces for an answered dialog, without early-only, is an attended-transfer-style swap
// (RFC 3891): carol's lamp shows bob talking to alice; her INVITE with Replaces goes to
// alice, whose phone replaces the call with bob by the call with carol, and ends bob's.
func TestReplacesOfAnAnsweredCallSwapsIt(t *testing.T) {
	l := newLab(t, labTopology())
	l.registerAll("alice", "bob", "carol")
	l.subscribe("carol", "bob")
	out, in := l.connect("alice", "bob")
	l.lamp("carol", "bob", dialoginfo.Confirmed, "alice")
	swap, err := l.phone("carol").PickUpByReplaces("bob")
	require.NoError(t, err)
	_, err = swap.WaitState(ctx(t), phone.Established)
	require.NoError(t, err, "alice's phone answers the replacement")
	require.Equal(t, "alice", swap.Remote())
	_, err = in.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err, "bob's call ends")
	_, err = out.WaitState(ctx(t), phone.Ended)
	require.NoError(t, err, "alice's old call ends")
	incoming := l.phone("alice").Calls()
	mediaFlows(t, swap, incoming[len(incoming)-1], 20)
	require.NoError(t, swap.Hangup(ctx(t)))
}
