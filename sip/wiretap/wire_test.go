package wiretap_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/media"
	"github.com/pickupsim/pickupsim/sip/wiretap"
)

type sink struct {
	mu  sync.Mutex
	sip []string
	rtp map[netip.AddrPort]int // datagrams by source
}

func (s *sink) Capture(p wiretap.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.Media {
		s.rtp[p.From]++
		return
	}
	line, _, _ := strings.Cut(string(p.Data), "\r\n")
	s.sip = append(s.sip, line)
}

// TestRealTrafficOnce runs a real sipgo server and client on loopback, both in this
// process, so that the tracer sees every message twice, and two RTP streams whose
// addresses one message's SDP advertises: the owner of the server's address gets each SIP
// message once, and the RTP of both streams, once per datagram, as the streams count it.
func TestRealTrafficOnce(t *testing.T) {
	wiretap.Enable()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	ua, err := sipgo.NewUA()
	require.NoError(t, err)
	defer ua.Close()
	srv, err := sipgo.NewServer(ua)
	require.NoError(t, err)
	srv.OnOptions(func(req *gosip.Request, tx gosip.ServerTransaction) {
		tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	go srv.ServeUDP(conn)
	server := conn.LocalAddr().String()

	s := &sink{rtp: map[netip.AddrPort]int{}}
	wiretap.Own(s, server)
	defer wiretap.Release(s)

	a, err := media.Listen("127.0.0.1")
	require.NoError(t, err)
	defer a.Close()
	b, err := media.Listen("127.0.0.1")
	require.NoError(t, err)
	defer b.Close()

	cua, err := sipgo.NewUA()
	require.NoError(t, err)
	defer cua.Close()
	cli, err := sipgo.NewClient(cua, sipgo.WithClientHostname("127.0.0.1"))
	require.NoError(t, err)
	req := gosip.NewRequest(gosip.OPTIONS, gosip.Uri{User: "bob", Host: "127.0.0.1", Port: conn.LocalAddr().(*net.UDPAddr).Port})
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(media.Offer(a.LocalAddr(), 1))
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	res, err := cli.Do(rctx, req)
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode)

	a.Start(b.LocalAddr())
	b.Start(a.LocalAddr())
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	require.NoError(t, a.WaitReceived(wctx, b.SSRC(), 10))
	require.NoError(t, b.WaitReceived(wctx, a.SSRC(), 10))
	a.Stop()
	b.Stop()
	wiretap.Release(s)

	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Equal(t, []string{"OPTIONS sip:bob@" + server + " SIP/2.0", "SIP/2.0 200 OK"}, s.sip, "each message once")
	assert.Equal(t, a.Stats().Sent, s.rtp[a.LocalAddr()], "every datagram the advertised stream sent, once")
	assert.Equal(t, b.Stats().Sent, s.rtp[b.LocalAddr()], "every datagram sent to the advertised stream, once")
}
