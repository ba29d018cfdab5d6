package pcap_test

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/pcap"
	"github.com/pickupsim/pickupsim/sip/pcap/pcaptest"
)

const invite = "INVITE sip:bob@contoso.com SIP/2.0\r\n" +
	"Via: SIP/2.0/%s 127.0.0.1:40000;branch=z9hG4bK.1\r\n" +
	"From: <sip:alice@contoso.com>;tag=a\r\nTo: <sip:bob@contoso.com>\r\n" +
	"Call-ID: %s\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"

func sipMessage(transport, callID string) []byte {
	return []byte(strings.NewReplacer("%s", transport).Replace(strings.Replace(invite, "Call-ID: %s", "Call-ID: "+callID, 1)))
}

// TestTsharkDecodesWhatTheWriterFramed writes SIP over UDP (IPv4 and IPv6, ports other
// than 5060), SIP over TCP split across two writes, and RTP, then has tshark decode the
// file with checksum validation on: every frame must decode as the protocol it carries,
// with good checksums, at the time it was stamped, and the split message must reassemble.
func TestTsharkDecodesWhatTheWriterFramed(t *testing.T) {
	pcaptest.Tshark(t)
	var file bytes.Buffer
	w, err := pcap.NewWriter(&file)
	require.NoError(t, err)
	t0 := time.Date(2013, 2, 1, 9, 0, 0, 0, time.UTC)
	phone, pool := netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.1:45061")
	require.NoError(t, w.UDP(t0, phone, pool, sipMessage("UDP", "udp4")))
	require.NoError(t, w.UDP(t0.Add(time.Millisecond), netip.MustParseAddrPort("[::1]:40000"),
		netip.MustParseAddrPort("[::1]:45061"), sipMessage("UDP", "udp6")))
	tcp := sipMessage("TCP", "tcp")
	require.NoError(t, w.TCP(t0.Add(2*time.Millisecond), phone, pool, tcp[:30]))
	require.NoError(t, w.TCP(t0.Add(3*time.Millisecond), phone, pool, tcp[30:]))
	require.NoError(t, w.TCP(t0.Add(4*time.Millisecond), pool, phone, []byte("SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\n")))
	for i := range 3 {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(7 + i), Timestamp: uint32(160 * i), SSRC: 0x1234abcd},
			Payload: make([]byte, 160)}
		b, err := pkt.Marshal()
		require.NoError(t, err)
		at := t0.Add(time.Second + time.Duration(i)*20*time.Millisecond)
		require.NoError(t, w.UDP(at, netip.MustParseAddrPort("127.0.0.1:30001"), netip.MustParseAddrPort("127.0.0.1:30003"), b))
	}
	path := filepath.Join(t.TempDir(), "framed.pcap")
	require.NoError(t, os.WriteFile(path, file.Bytes(), 0o644))

	// SIP's heuristics find SIP on any UDP port, and on any TCP port when a segment holds
	// a whole message; a message split across segments is reassembled on a port decoded as
	// SIP, which checks the sequence numbers.
	sipOnTCP := []string{"-d", "tcp.port==45061,sip"}
	rows := pcaptest.Fields(t, path, "", sipOnTCP, "frame.time_epoch", "_ws.col.Protocol", "sip.Call-ID", "sip.Status-Code",
		"ip.checksum.status", "udp.checksum.status", "tcp.checksum.status", "rtp.seq", "_ws.expert.severity")
	require.Len(t, rows, 8, "one frame per UDP datagram and TCP write: %v", rows)
	want := []struct{ proto, callID, status string }{
		{"SIP", "udp4", ""}, {"SIP", "udp6", ""}, {"TCP", "", ""}, {"SIP", "tcp", ""}, {"SIP", "", "100"},
		{"RTP", "", ""}, {"RTP", "", ""}, {"RTP", "", ""},
	}
	for i, r := range rows {
		assert.Equal(t, want[i].proto, r[1], "frame %d protocol", i+1)
		assert.Equal(t, want[i].callID, r[2], "frame %d Call-ID", i+1)
		assert.Equal(t, want[i].status, r[3], "frame %d status", i+1)
		for j, what := range []string{"ip", "udp", "tcp"} {
			assert.NotEqual(t, "0", r[4+j], "frame %d: bad %s checksum", i+1, what) // 0 bad, 1 good, 2 not checked
		}
		assert.NotContains(t, r[8], "Error", "frame %d: tshark's expert info: %v", i+1, r)
	}
	assert.Equal(t, "1359709200.000000000", rows[0][0], "the first frame's timestamp, to the microsecond")
	assert.Equal(t, "1359709201.040000000", rows[7][0], "the last RTP frame's timestamp")
	assert.Equal(t, "7", rows[5][7])
	assert.Equal(t, "9", rows[7][7])
	good := pcaptest.Fields(t, path, "udp.checksum.status == 1 || tcp.checksum.status == 1", sipOnTCP, "frame.number")
	assert.Len(t, good, 8, "every transport checksum was verified good")
}

func TestWriterRefusesWhatNoFrameCarries(t *testing.T) {
	w, err := pcap.NewWriter(&bytes.Buffer{})
	require.NoError(t, err)
	v4, v6 := netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("[::1]:2")
	assert.ErrorContains(t, w.UDP(time.Now(), v4, v6, nil), "mixes IPv4 and IPv6")
	assert.ErrorContains(t, w.TCP(time.Now(), netip.AddrPort{}, v4, nil), "invalid address")
	assert.ErrorIs(t, w.UDP(time.Now(), v4, v4, make([]byte, 70000)), pcap.ErrTooLarge)
	mapped := netip.MustParseAddrPort("[::ffff:127.0.0.1]:3")
	assert.NoError(t, w.UDP(time.Now(), mapped, v4, []byte("x")), "an IPv4-mapped address is IPv4")
}
