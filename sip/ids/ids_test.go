package ids

import (
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSeededIdentifiersRepeatPerSeedAndOwner(t *testing.T) {
	a, b := New(7).Gen("alice"), New(7).Gen("alice")
	assert.Equal(t, a.Token("call", "1"), b.Token("call", "1"), "one seed, one owner, one purpose: one token")
	assert.Equal(t, []string{a.Next("call"), a.Next("call")}, []string{b.Next("call"), b.Next("call")})
	assert.NotEqual(t, New(7).Gen("alice").Next("call"), New(8).Gen("alice").Next("call"), "another seed")
	assert.NotEqual(t, New(7).Gen("alice").Next("call"), New(7).Gen("bob").Next("call"), "another owner")
	g := New(7).Gen("alice")
	assert.NotEqual(t, g.Next("call"), g.Next("call"), "each act its own")
	assert.Len(t, g.Token("x"), 16)
	assert.NotZero(t, g.Uint32("ssrc", "c1"))
	assert.Less(t, g.SDPSession("c1"), uint64(1)<<63)
}

func TestNilGeneratorDrawsAtRandom(t *testing.T) {
	var g *Gen
	assert.False(t, g.Seeded())
	assert.NotEqual(t, g.Next("call"), g.Next("call"))
	assert.NotEqual(t, g.Token("a"), g.Token("a"))
	var s *Source
	assert.Nil(t, s.Gen("alice"))
	assert.Equal(t, "127.0.0.1:5060", s.Symbolic("127.0.0.1:5060"))
}

func TestSymbolicNamesWholeAddressesOnly(t *testing.T) {
	s := New(1)
	s.Name("127.0.0.1:4000", "pool01")
	got := s.Symbolic("sip:bob@127.0.0.1:4000;transport=udp via 127.0.0.1:40001 and 127.0.0.1:4000")
	assert.Equal(t, "sip:bob@pool01;transport=udp via 127.0.0.1:40001 and pool01", got)
}

func invite(dest string) *gosip.Request {
	req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", User: "bob", Host: strings.Split(dest, ":")[0]})
	req.AppendHeader(&gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5060, Params: gosip.NewParams()})
	req.AppendHeader(&gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", User: "alice", Host: "contoso.com"}, Params: gosip.HeaderParams{{K: "tag", V: "a1"}}})
	req.AppendHeader(&gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: "bob", Host: "contoso.com"}})
	cid := gosip.CallIDHeader("c1")
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.INVITE})
	req.SetDestination(dest)
	return req
}

// A branch names the request and where it goes by the names of the user agents, not
// by the ports a replay happened to bind: two replays fork alike.
func TestBranchFollowsNamesNotPorts(t *testing.T) {
	s1, s2 := New(3), New(3)
	s1.Name("127.0.0.1:41000", "bob")
	s1.Name("127.0.0.1:41001", "carol")
	s2.Name("127.0.0.1:52000", "bob")
	s2.Name("127.0.0.1:52001", "carol")
	g1, g2 := s1.Gen("pool01"), s2.Gen("pool01")
	b1 := g1.Branch(invite("127.0.0.1:41000"))
	assert.True(t, strings.HasPrefix(b1, gosip.RFC3261BranchMagicCookie))
	assert.Equal(t, b1, g2.Branch(invite("127.0.0.1:52000")), "same request to bob, another port")
	assert.NotEqual(t, b1, g1.Branch(invite("127.0.0.1:41001")), "a forked INVITE: one branch per destination (RFC 3261 16.6 step 8)")
}

func TestTagResponseReplacesOnlySipgosDrawnTag(t *testing.T) {
	g := New(1).Gen("bob")
	req := invite("127.0.0.1:41000")
	res := gosip.NewResponseFromRequest(req, 180, "Ringing", nil)
	drawn, _ := res.To().Params.Get("tag")
	require.True(t, IsUUID(drawn), "sipgo draws a UUID tag: %q", drawn)
	g.TagResponse(req, res)
	tag, _ := res.To().Params.Get("tag")
	assert.Equal(t, g.ToTag(req), tag)
	assert.False(t, IsUUID(tag))

	relayed := gosip.NewResponseFromRequest(req, 180, "Ringing", nil)
	relayed.To().Params.Add("tag", "phone-tag")
	g.TagResponse(req, relayed)
	assert.Equal(t, "phone-tag", relayed.To().Params.GetOr("tag", ""), "a relayed tag is the answering phone's")

	trying := gosip.NewResponseFromRequest(req, 100, "Trying", nil)
	g.TagResponse(req, trying)
	assert.NotEqual(t, g.ToTag(req), trying.To().Params.GetOr("tag", ""), "100 Trying is left alone")
}
