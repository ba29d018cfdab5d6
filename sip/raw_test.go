package sip

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/lync"
)

// rawPeer is a SIP endpoint written by hand: a UDP socket the test owns, sending whatever
// bytes it is given, as an attacker or a broken device would.
type rawPeer struct {
	t    testing.TB
	conn *net.UDPConn
}

func newRawPeer(t testing.TB) *rawPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &rawPeer{t: t, conn: c}
}

// addr is the peer's "ip:port".
func (r *rawPeer) addr() string { return r.conn.LocalAddr().String() }

// send writes msg to addr as one datagram.
func (r *rawPeer) send(addr, msg string) {
	r.t.Helper()
	to, err := net.ResolveUDPAddr("udp", addr)
	require.NoError(r.t, err)
	_, err = r.conn.WriteToUDP([]byte(msg), to)
	require.NoError(r.t, err)
}

// next returns the next SIP message that arrives within d, or nil.
func (r *rawPeer) next(d time.Duration) gosip.Message {
	buf := make([]byte, 65535)
	deadline := time.Now().Add(d)
	for {
		r.conn.SetReadDeadline(deadline)
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return nil
		}
		if m, err := gosip.ParseMessage(buf[:n]); err == nil {
			return m
		}
	}
}

// final sends msg to addr and returns the first final response (provisional ones are
// skipped), or nil when none comes within 3 s. Like a UAC on UDP (RFC 3261 17.1.1.2,
// 17.1.2.2) it sends the request again T1 and 3*T1 after it went while nothing answered
// (an INVITE: until a provisional response), so a test also holds on a lossy network
// (the README's loss table runs go test ./sip in one).
func (r *rawPeer) final(addr, msg string) *gosip.Response {
	r.t.Helper()
	start := time.Now()
	heard := false // a provisional response ends an INVITE's retransmissions
	invite := strings.HasPrefix(msg, "INVITE ")
	for _, at := range []time.Duration{0, gosip.T1, 3 * gosip.T1} {
		if res := r.finalBefore(start.Add(at), &heard); res != nil {
			return res
		}
		if !(heard && invite) {
			r.send(addr, msg)
		}
	}
	return r.finalBefore(start.Add(3*time.Second), &heard)
}

// finalBefore reads until t and returns the first final response, or nil; heard is set
// by a provisional one.
func (r *rawPeer) finalBefore(t time.Time, heard *bool) *gosip.Response {
	for time.Now().Before(t) {
		if res, ok := r.next(time.Until(t)).(*gosip.Response); ok {
			if res.StatusCode >= 200 {
				return res
			}
			*heard = true
		}
	}
	return nil
}

// silence reports whether nothing at all arrives within d.
func (r *rawPeer) silence(d time.Duration) error {
	buf := make([]byte, 65535)
	r.conn.SetReadDeadline(time.Now().Add(d))
	n, from, err := r.conn.ReadFromUDP(buf)
	if err == nil {
		return fmt.Errorf("%d bytes arrived from %s:\n%s", n, from, buf[:n])
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return err
}

// rawMsg builds a request from its start line and header lines; every "{me}" becomes the
// sender's address and "{branch}" a fresh branch. A body gets its Content-Length.
func rawMsg(me string, start string, body string, headers ...string) string {
	var b strings.Builder
	b.WriteString(start + "\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	s := strings.ReplaceAll(b.String(), "{me}", me)
	return strings.ReplaceAll(s, "{branch}", "z9hG4bK-"+gosip.GenerateTagN(12))
}

// warningOf returns the text of a response's Warning.
func warningOf(res *gosip.Response) string {
	if h := res.GetHeader("Warning"); h != nil {
		return lync.WarningText(h.Value())
	}
	return ""
}

// tinySDP is an audio offer from addr's host.
func tinySDP(host string) string {
	return "v=0\r\no=- 1 1 IN IP4 " + host + "\r\ns=-\r\nc=IN IP4 " + host +
		"\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
}

// tcpSend opens a TCP connection to addr, writes msg, and returns what comes back within
// 500 ms (the connection stays open meanwhile).
func tcpSend(t testing.TB, addr, msg string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte(msg))
	require.NoError(t, err)
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	var got []byte
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return string(got)
		}
	}
}

// tcpPeer is a SIP endpoint written by hand over one TCP connection.
type tcpPeer struct {
	t    testing.TB
	conn net.Conn
	buf  []byte
}

func newTCPPeer(t testing.TB, addr string) *tcpPeer {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &tcpPeer{t: t, conn: c}
}

func (p *tcpPeer) addr() string { return p.conn.LocalAddr().String() }

// final writes msg and returns the first final response on the connection, or nil.
func (p *tcpPeer) final(msg string) *gosip.Response {
	p.t.Helper()
	_, err := p.conn.Write([]byte(msg))
	require.NoError(p.t, err)
	deadline := time.Now().Add(3 * time.Second)
	chunk := make([]byte, 65535)
	for time.Now().Before(deadline) {
		for {
			m, rest, ok := splitSIP(p.buf)
			if !ok {
				break
			}
			p.buf = rest
			if res, isRes := m.(*gosip.Response); isRes && res.StatusCode >= 200 {
				return res
			}
		}
		p.conn.SetReadDeadline(deadline)
		n, err := p.conn.Read(chunk)
		if err != nil {
			return nil
		}
		p.buf = append(p.buf, chunk[:n]...)
	}
	return nil
}

// splitSIP takes the first whole message off a TCP stream.
func splitSIP(b []byte) (gosip.Message, []byte, bool) {
	s := string(b)
	end := strings.Index(s, "\r\n\r\n")
	if end < 0 {
		return nil, b, false
	}
	length := 0
	for _, line := range strings.Split(s[:end], "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && (strings.EqualFold(strings.TrimSpace(k), "Content-Length") || strings.TrimSpace(k) == "l") {
			fmt.Sscan(strings.TrimSpace(v), &length)
		}
	}
	total := end + 4 + length
	if len(b) < total {
		return nil, b, false
	}
	m, err := gosip.ParseMessage(b[:total])
	if err != nil {
		return nil, b[total:], false
	}
	return m, b[total:], true
}
