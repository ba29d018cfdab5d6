package phone

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A ringing call cancelled by its caller gets exactly one final response, 487 (RFC 3261
// 9.2): sipgo's transaction layer sends it, and the input guard must not take the INVITE
// for unanswered and add a 500 (seen on every picked-up callee's leg in the captures).
func TestCancelledRingingCallGetsOneFinalResponse(t *testing.T) {
	bob, err := New(Config{User: "bob", Domain: "contoso.com"})
	require.NoError(t, err)
	t.Cleanup(bob.Close)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	me := conn.LocalAddr().String()
	to, err := net.ResolveUDPAddr("udp", bob.Addr())
	require.NoError(t, err)

	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	msg := func(method, cseqMethod, body string) string {
		m := fmt.Sprintf("%s sip:bob@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-cancel-1;rport\r\n"+
			"From: <sip:alice@contoso.com>;tag=a1\r\nTo: <sip:bob@contoso.com>\r\nCall-ID: cancel-once@test\r\n"+
			"CSeq: 1 %s\r\nMax-Forwards: 70\r\nContact: <sip:alice@%s>\r\n", method, bob.Addr(), me, cseqMethod, me)
		if body != "" {
			m += "Content-Type: application/sdp\r\n"
		}
		return m + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
	}
	send := func(m string) {
		_, err := conn.WriteTo([]byte(m), to)
		require.NoError(t, err)
	}
	// read returns "status line / CSeq" of each response heard until d passes, or until
	// one matches stop.
	read := func(d time.Duration, stop string) []string {
		var got []string
		buf := make([]byte, 8192)
		conn.SetReadDeadline(time.Now().Add(d))
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return got
			}
			lines := strings.Split(string(buf[:n]), "\r\n")
			cseq := ""
			for _, h := range lines {
				if v, ok := strings.CutPrefix(h, "CSeq:"); ok {
					cseq = strings.TrimSpace(v)
				}
			}
			got = append(got, lines[0]+" / "+cseq)
			if got[len(got)-1] == stop {
				return got
			}
		}
	}
	send(msg("INVITE", "INVITE", sdp))
	require.Contains(t, read(5*time.Second, "SIP/2.0 180 Ringing / 1 INVITE"), "SIP/2.0 180 Ringing / 1 INVITE")
	send(msg("CANCEL", "CANCEL", ""))
	heard := read(2*time.Second, "")
	finals := map[string]bool{} // 487 is retransmitted until ACKed: count distinct finals
	for _, l := range heard {
		if strings.HasSuffix(l, "/ 1 INVITE") && !strings.HasPrefix(l, "SIP/2.0 1") {
			finals[l] = true
		}
	}
	assert.Contains(t, heard, "SIP/2.0 200 OK / 1 CANCEL")
	assert.Equal(t, map[string]bool{"SIP/2.0 487 Request Terminated / 1 INVITE": true}, finals,
		"one final response to the INVITE, 487; heard %q", heard)
}
