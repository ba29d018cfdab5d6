package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// lampLog is what blf-subscribe.xml logs of the NOTIFY it received.
var lampLog = regexp.MustCompile(`lamp callid=(\S+) localtag=(\S+) remotetag=(\S+) expires=(\d+)`)

// TestSIPpBusyLampAndPickupByReplaces drives `pickupsim serve` with SIPp as an unmodified
// desk phone's busy lamp key (issue 13): carol's SIPp subscribes to bob's dialogs while
// alice's call rings bob, gets 200 with Expires and a full-state NOTIFY whose early dialog
// carries the call-id, local-tag and remote-tag, unsubscribes; then a second SIPp on the
// same address picks the call up with an INVITE with Replaces built from those
// identifiers. alice is answered by carol, bob's ringing is cancelled ("Call completed
// elsewhere").
func TestSIPpBusyLampAndPickupByReplaces(t *testing.T) {
	bin := requireTool(t, "sipp", "sip-tester")
	s, _, _ := startServe(t, labForTests)
	p1, _ := s.Network.Pool("pool01.contoso.com")
	ports := freePorts(t, 6)
	alice := sippPhone{"alice", ports[0], ports[1]}
	bob := sippPhone{"bob", ports[2], ports[3]}
	carol := sippPhone{"carol", ports[4], ports[5]}
	for _, ph := range []sippPhone{alice, bob, carol} {
		sipp(t, bin, "register.xml", ph, p1.Addr(), "").wait(t, ph.user+" registers")
	}
	// erin's simulated phone, on pool02, watches bob too: its lamp says when bob's phone
	// rings (early), so that carol's first NOTIFY is the early one.
	phones := phone.NewFleet(s.Network)
	t.Cleanup(phones.Close)
	erin, err := phones.NewPhone("erin")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = erin.Register(ctx)
	require.NoError(t, err)
	require.NoError(t, erin.Subscribe(ctx, "bob"))

	callee := sipp(t, bin, "callee-picked-up.xml", bob, "", "")
	waitBound(t, bob.port)
	caller := sipp(t, bin, "caller.xml", alice, p1.Addr(), "bob")
	ringing, err := erin.WaitLamp(ctx, "bob", func(l phone.Lamp) bool { return l.State == dialoginfo.Early })
	require.NoError(t, err, "bob's phone rings")

	lamp := sipp(t, bin, "blf-subscribe.xml", carol, p1.Addr(), "bob", "-trace_logs")
	lamp.wait(t, "carol's SIPp watches bob")
	logs, _ := filepath.Glob(filepath.Join(lamp.cmd.Dir, "*_logs.log"))
	require.Len(t, logs, 1)
	data, err := os.ReadFile(logs[0])
	require.NoError(t, err)
	m := lampLog.FindStringSubmatch(string(data))
	require.NotNil(t, m, "the NOTIFY's dialog identifiers, as SIPp logged them: %s", data)
	callID, localTag, remoteTag := m[1], m[2], m[3]
	require.Equal(t, ringing.Dialog.CallID, callID, "the NOTIFY names alice's call to bob")
	require.Equal(t, ringing.Dialog.LocalTag, localTag, "bob's tag")
	require.Equal(t, ringing.Dialog.RemoteTag, remoteTag, "alice's tag")
	require.Equal(t, "600", m[4], "the pool grants the Expires asked for")

	picker := sipp(t, bin, "blf-pickup-replaces.xml", carol, p1.Addr(), "bob",
		"-key", "callid", callID, "-key", "localtag", localTag, "-key", "remotetag", remoteTag)
	picker.wait(t, "carol picks up with Replaces")
	caller.wait(t, "alice is answered by carol")
	callee.wait(t, "bob's ringing is cancelled")
	_, err = erin.WaitLamp(ctx, "bob", func(l phone.Lamp) bool { return l.State == dialoginfo.Terminated })
	require.NoError(t, err, "bob's lamp goes dark")
}
