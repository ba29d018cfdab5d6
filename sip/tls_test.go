package sip

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/lync"
)

// selfSigned makes a certificate for 127.0.0.1, as an administrator would for a lab.
func selfSigned(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{pool01}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestRegisterOverTLS(t *testing.T) {
	cert := selfSigned(t)
	n, _, err := Start(Config{Topology: labTopology(), Clock: clock.NewVirtual(time.Unix(0, 0)),
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	require.NoError(t, err)
	t.Cleanup(n.Close)
	p1, _ := n.Pool(pool01)
	require.NotEmpty(t, p1.TLSAddr())

	ua, err := sipgo.NewUA(sipgo.WithUserAgent("alice"), sipgo.WithUserAgenTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	require.NoError(t, err)
	t.Cleanup(func() { ua.Close() })
	cli, err := sipgo.NewClient(ua)
	require.NoError(t, err)

	aor := gosip.Uri{Scheme: "sip", User: "alice", Host: n.Domain()}
	req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: n.Domain()})
	req.AppendHeader(&gosip.FromHeader{Address: aor, Params: gosip.HeaderParams{{K: "tag", V: "t1"}}})
	req.AppendHeader(&gosip.ToHeader{Address: aor})
	req.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1", Port: 5999,
		UriParams: gosip.HeaderParams{{K: "transport", V: "tls"}}}})
	req.SetTransport("TLS")
	req.SetDestination(p1.TLSAddr())
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := cli.Do(c, req)
	require.NoError(t, err)
	assert.Equal(t, 200, res.StatusCode)
	connected, ok := lync.ConnectedToPrimary(res)
	assert.True(t, ok && connected)
	assert.Contains(t, p1.Registered(), "alice")

	// The TLS listener closes with the pool, like the others.
	require.NoError(t, n.Outage(pool01))
	_, err = tls.Dial("tcp", p1.TLSAddr(), &tls.Config{InsecureSkipVerify: true})
	assert.Error(t, err)
}
