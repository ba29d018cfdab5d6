package sip

import (
	"net"
	"testing"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/require"
)

// TestRecoveryRebindsAfterALateSendOfTheStoppedPool forces the interleaving the
// 20,000-user load rehearsal hit about one run in three: a goroutine of the pool that just
// stopped (relaying an answer, a CANCEL or a BYE as it was shut down) sends from the pool's
// address after its listener closed, and sipgo's UDP transport binds a new socket there
// for it. The recovery must bind its address again all the same.
func TestRecoveryRebindsAfterALateSendOfTheStoppedPool(t *testing.T) {
	l := newLab(t, labTopology())
	p1, ok := l.net.Pool(pool01)
	require.True(t, ok)
	old := p1.runtime()
	require.NoError(t, l.net.Outage(pool01))

	late := gosip.NewRequest(gosip.OPTIONS, gosip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: 9})
	late.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.OPTIONS})
	late.SetDestination("127.0.0.1:9")
	late.Laddr = old.laddr
	late.AppendHeader(&gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: old.laddr.Port, Params: gosip.NewParams()})
	_ = old.cli.WriteRequest(late, func(*sipgo.Client, *gosip.Request) error { return nil })
	held, err := net.ListenPacket("udp", p1.Addr())
	if err == nil {
		held.Close()
	}
	require.Error(t, err, "the late send left a socket on the stopped pool's address")

	require.NoError(t, l.net.Recover(pool01), "the pool binds its address again")
	require.True(t, p1.Up())
}
