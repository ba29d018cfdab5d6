package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/pcap/pcaptest"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// TestServePcapCapturesThePools runs serve --pcap, registers two phones, has one call the
// other through pool01, and sends pool01 an OPTIONS over TCP from a bare socket, then
// decodes the capture with tshark while serve still runs: the REGISTERs and the call's
// INVITE, 180 and 200 as pool01 received and sent them, the OPTIONS and its answer over
// TCP, the call's RTP, and wall-clock timestamps. (The test's phones run in serve's
// process, so what they send each other directly, PRACK, ACK and BYE, is captured too;
// a real serve runs pools only.)
func TestServePcapCapturesThePools(t *testing.T) {
	pcaptest.Tshark(t)
	file := filepath.Join(t.TempDir(), "serve.pcap")
	before := time.Now()
	s, _, _ := startServe(t, labForTests, func(f *serveFlags) { f.pcap = file })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	phones := phone.NewFleet(s.Network)
	t.Cleanup(phones.Close)
	alice, err := phones.NewPhone("alice")
	require.NoError(t, err)
	bob, err := phones.NewPhone("bob")
	require.NoError(t, err)
	for _, ph := range []*phone.Phone{alice, bob} {
		_, err := ph.Register(ctx)
		require.NoError(t, err)
	}
	call, err := alice.Dial("bob")
	require.NoError(t, err)
	_, err = call.WaitState(ctx, phone.Ringing)
	require.NoError(t, err)
	var leg *phone.Call
	for _, c := range bob.Calls() {
		if !c.Outgoing && c.ID == call.ID {
			leg = c
		}
	}
	require.NotNil(t, leg, "bob's phone rings")
	require.NoError(t, leg.Answer())
	_, err = call.WaitState(ctx, phone.Established)
	require.NoError(t, err)
	_, err = leg.WaitState(ctx, phone.Established)
	require.NoError(t, err)
	// RTP flows phone to phone; wait until the capture shows some from each side.
	var ssrcs map[string]int
	eventually(t, "RTP both ways in the capture", func() bool {
		ssrcs = map[string]int{}
		for _, r := range pcaptest.Fields(t, file, "rtp", nil, "rtp.ssrc") {
			ssrcs[r[0]]++
		}
		return len(ssrcs) == 2
	})
	require.NoError(t, call.Hangup(ctx))
	_, err = leg.WaitState(ctx, phone.Ended)
	require.NoError(t, err)
	pool01, _ := s.Network.Pool("pool01.contoso.com")
	optionsOverTCP(t, pool01.Addr())
	after := time.Now()

	pools := map[netip.AddrPort]bool{}
	for _, p := range s.Network.Pools() {
		pools[netip.MustParseAddrPort(p.Address)] = true
	}
	got := map[string]int{}
	for _, r := range pcaptest.Fields(t, file, "sip", nil, "frame.time_epoch", "ip.src", "udp.srcport", "tcp.srcport",
		"ip.dst", "udp.dstport", "tcp.dstport", "sip.Method", "sip.Status-Code", "sip.CSeq.method") {
		at, err := strconv.ParseFloat(r[0], 64)
		require.NoError(t, err)
		assert.True(t, at >= float64(before.UnixMicro())/1e6 && at <= float64(after.UnixMicro())/1e6,
			"frame stamped %s, on the wall clock between %s and %s", r[0], before, after)
		from, to := netip.MustParseAddrPort(r[1]+":"+r[2]+r[3]), netip.MustParseAddrPort(r[4]+":"+r[5]+r[6])
		if !pools[from] && !pools[to] {
			continue // between the test's phones
		}
		kind := r[7]
		if kind == "" {
			kind = r[8] + " (" + r[9] + ")"
		}
		if r[3] != "" {
			kind += " over TCP"
		}
		got[kind]++
	}
	// Each request and answer crosses pool01 twice: phone -> pool -> phone.
	assert.Equal(t, map[string]int{"REGISTER": 2, "200 (REGISTER)": 2, "INVITE": 2, "100 (INVITE)": 1, "180 (INVITE)": 2,
		"200 (INVITE)": 2, "OPTIONS over TCP": 1, "200 (OPTIONS) over TCP": 1}, got, "SIP to and from the pools in the capture")
	for ssrc, n := range ssrcs {
		assert.Positive(t, n, "RTP of SSRC %s", ssrc)
	}
}

// optionsOverTCP sends pool an OPTIONS from a bare TCP socket (not sipgo's: only the
// pool's side of the connection is traced, as with a real phone) and reads its answer.
func optionsOverTCP(t *testing.T, pool string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", pool, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = fmt.Fprintf(conn, "OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-pcap-tcp\r\nMax-Forwards: 70\r\n"+
		"From: <sip:probe@contoso.com>;tag=probe\r\nTo: <sip:%s>\r\nCall-ID: pcap-tcp-probe\r\nCSeq: 1 OPTIONS\r\n"+
		"Content-Length: 0\r\n\r\n", pool, conn.LocalAddr(), pool)
	require.NoError(t, err)
	status, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, status, "SIP/2.0 200", "pool01 answers OPTIONS over TCP")
}
