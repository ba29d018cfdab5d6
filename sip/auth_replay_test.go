package sip

import (
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// tap is a wire between a phone and its registrar that keeps a copy of every request, as
// an attacker on the lab LAN would.
type tap struct {
	down, up *net.UDPConn // phone side, pool side
	mu       sync.Mutex
	requests []string
}

func newTap(t *testing.T, pool string) *tap {
	t.Helper()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	tp := &tap{down: listen(), up: listen()}
	poolAddr, err := net.ResolveUDPAddr("udp", pool)
	require.NoError(t, err)
	var phoneAddr *net.UDPAddr
	var phoneAddrMu sync.Mutex
	go func() { // phone -> pool, recorded
		buf := make([]byte, 65535)
		for {
			n, from, err := tp.down.ReadFromUDP(buf)
			if err != nil {
				return
			}
			phoneAddrMu.Lock()
			phoneAddr = from
			phoneAddrMu.Unlock()
			tp.mu.Lock()
			tp.requests = append(tp.requests, string(buf[:n]))
			tp.mu.Unlock()
			tp.up.WriteToUDP(buf[:n], poolAddr)
		}
	}()
	go func() { // pool -> phone
		buf := make([]byte, 65535)
		for {
			n, _, err := tp.up.ReadFromUDP(buf)
			if err != nil {
				return
			}
			phoneAddrMu.Lock()
			to := phoneAddr
			phoneAddrMu.Unlock()
			if to != nil {
				tp.down.WriteToUDP(buf[:n], to)
			}
		}
	}()
	return tp
}

// captured returns the first request recorded that contains all of want.
func (tp *tap) captured(want ...string) string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
next:
	for _, r := range tp.requests {
		for _, w := range want {
			if !strings.Contains(r, w) {
				continue next
			}
		}
		return r
	}
	return ""
}

// TestACapturedRegisterCannotBeReplayed: carol (who has a password) registers through a
// wire an attacker listens on; the attacker replays her authenticated REGISTER from
// another port with its own Contact. The pool challenges the replay, and calls for carol
// still ring carol.
func TestACapturedRegisterCannotBeReplayed(t *testing.T) {
	l := authLab(t)
	p1, _ := l.net.Pool(pool01)
	wire := newTap(t, p1.Addr())
	carol, err := phone.New(phone.Config{User: "carol", Domain: l.net.Domain(), Registrars: []string{wire.down.LocalAddr().String()}, Password: "s3cret"})
	require.NoError(t, err)
	t.Cleanup(carol.Close)
	_, err = carol.Register(ctx(t))
	require.NoError(t, err, "carol registers through the wire")
	authenticated := wire.captured("REGISTER ", "Authorization: Digest")
	require.NotEmpty(t, authenticated, "the wire saw carol's authenticated REGISTER")

	attacker := newRawPeer(t)
	replay := regexp.MustCompile(`(?m)^Via: SIP/2.0/UDP [^;\r\n]+;branch=[^;\r\n]+`).
		ReplaceAllString(authenticated, "Via: SIP/2.0/UDP "+attacker.addr()+";branch=z9hG4bK-replay1")
	replay = regexp.MustCompile(`(?m)^Contact: [^\r\n]+`).ReplaceAllString(replay, "Contact: <sip:carol@"+attacker.addr()+">")
	require.Contains(t, replay, "Authorization: Digest", "the replay carries carol's credentials")
	res := attacker.final(p1.Addr(), replay)
	require.NotNil(t, res, "the replay got no answer")
	assert.Equal(t, 401, res.StatusCode, "a replayed REGISTER is challenged")
	assert.Contains(t, warningOf(res), "credentials already used")

	// Calls for carol still go to carol.
	l.registerAll("alice")
	out, err := l.phone("alice").Dial("carol")
	require.NoError(t, err)
	in, err := carol.NextIncoming(ctx(t))
	require.NoError(t, err, "carol's own phone rings")
	require.NoError(t, in.Answer())
	_, err = out.WaitState(ctx(t), phone.Established)
	require.NoError(t, err)
	assert.NoError(t, attacker.silence(500*time.Millisecond), "nothing reached the attacker")
}

// TestDigestNoncesAreBoundToTheirURIAndCount checks the authenticator's rules one by one,
// with credentials computed from the password.
func TestDigestNoncesAreBoundToTheirURIAndCount(t *testing.T) {
	vc := clock.NewVirtual(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	a := newAuthenticator("contoso.com", vc)
	ruri := gosip.Uri{Scheme: "sip", Host: "contoso.com"}
	register := func(uri string, nonce string, nc int) *gosip.Request {
		req := gosip.NewRequest(gosip.REGISTER, ruri)
		cred, err := digest.Digest(&digest.Challenge{Realm: "contoso.com", Nonce: nonce, Algorithm: "MD5", QOP: []string{"auth"}},
			digest.Options{Method: "REGISTER", URI: uri, Username: "carol", Password: "s3cret", Cnonce: "c0ffee", Count: nc})
		require.NoError(t, err)
		req.AppendHeader(gosip.NewHeader("Authorization", cred.String()))
		return req
	}
	nonceOf := func() string {
		c, err := digest.ParseChallenge(a.challenge(false))
		require.NoError(t, err)
		return c.Nonce
	}

	n1 := nonceOf()
	assert.ErrorIs(t, a.verify(register("sip:pool01.contoso.com", n1, 1), "Authorization", "carol", "s3cret"), errWrongURI,
		"credentials computed for another Request-URI")
	assert.NoError(t, a.verify(register("sip:contoso.com", n1, 1), "Authorization", "carol", "s3cret"))
	assert.ErrorIs(t, a.verify(register("sip:contoso.com", n1, 1), "Authorization", "carol", "s3cret"), errReplayed, "same nc again")
	assert.NoError(t, a.verify(register("sip:contoso.com", n1, 2), "Authorization", "carol", "s3cret"), "a higher nc is a new use")
	assert.ErrorIs(t, a.verify(register("sip:contoso.com", "forged", 1), "Authorization", "carol", "s3cret"), errStaleNonce,
		"a nonce this pool never issued")

	n2 := nonceOf()
	vc.Advance(nonceLifetime + time.Second)
	assert.ErrorIs(t, a.verify(register("sip:contoso.com", n2, 1), "Authorization", "carol", "s3cret"), errStaleNonce,
		"nonces expire on the network's clock")

	for range maxNonces + 10 {
		a.challenge(false)
	}
	assert.Equal(t, maxNonces, a.held(), "the nonce table is bounded")
}
