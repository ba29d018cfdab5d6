package runner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// forked is a pool forking alice's INVITE to bob and carol, as two replays may see it:
// on other ports, with the phones' answers in another order, and sipgo's random tag on
// the 487.
func forked(pool, alice, bob, carol int, bobFirst bool, uuid string) Result {
	addr := func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }
	m := func(from, to int, start, cseq string, vias int, body string) Message {
		raw := start + "\r\n"
		hops := []int{alice, pool}
		for i := vias - 1; i >= 0; i-- {
			raw += fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK%d\r\n", addr(hops[i]), i)
		}
		raw += "Call-ID: c1\r\nCSeq: " + cseq + "\r\n\r\n" + body
		summary, _, _ := strings.Cut(raw, "\r\n")
		return Message{From: addr(from), To: addr(to), Summary: summary, Raw: raw, Step: 1}
	}
	msgs := []Message{m(alice, pool, "INVITE sip:bob@x SIP/2.0", "1 INVITE", 1, fmt.Sprintf("m=audio %d RTP/AVP 0\r\n", alice+1000))}
	toBob := m(pool, bob, "INVITE sip:bob@"+addr(bob)+" SIP/2.0", "1 INVITE", 2, "")
	toCarol := m(pool, carol, "INVITE sip:carol@"+addr(carol)+" SIP/2.0", "1 INVITE", 2, "")
	ringBob := m(bob, pool, "SIP/2.0 180 Ringing", "1 INVITE", 2, "")
	ringCarol := m(carol, pool, "SIP/2.0 487 Request Terminated", "1 INVITE", 2, "To: <sip:carol@x>;tag="+uuid+"\r\n")
	if bobFirst {
		msgs = append(msgs, toBob, toCarol, ringBob, ringCarol)
	} else {
		msgs = append(msgs, toCarol, toBob, toBob, ringCarol, ringBob) // the pool retransmitted bob's INVITE
	}
	return Result{Messages: msgs, Lanes: []Lane{{Name: "pool01", Addr: addr(pool), Pool: true},
		{Name: "alice", Addr: addr(alice)}, {Name: "bob", Addr: addr(bob)}, {Name: "carol", Addr: addr(carol)}}}
}

func TestCanonicalListsTwoReplaysAlike(t *testing.T) {
	a, symA := Canonical(forked(40000, 40001, 40002, 40003, true, "5a02b5e1-0000-4000-8000-000000000001"))
	b, symB := Canonical(forked(51000, 51001, 51002, 51003, false, "dfea21aa-0000-4000-8000-000000000002"))
	assert.Equal(t, a, b)
	assert.Equal(t, "alice sent to pool01", symA("127.0.0.1:40001 sent to 127.0.0.1:40000"))
	assert.Equal(t, symA("127.0.0.1:40001 and 127.0.0.1:9"), symB("127.0.0.1:51001 and 127.0.0.1:7"), "an unknown address is numbered")

	var order []string
	for _, m := range a {
		order = append(order, m.From+">"+m.To+" "+m.Summary)
	}
	assert.Equal(t, []string{
		"alice>pool01 INVITE sip:bob@x SIP/2.0",
		"pool01>bob INVITE sip:bob@bob SIP/2.0",
		"pool01>carol INVITE sip:carol@carol SIP/2.0",
		"bob>pool01 SIP/2.0 180 Ringing",
		"carol>pool01 SIP/2.0 487 Request Terminated",
	}, order, "a request hop by hop, then the responses by status")
	assert.Contains(t, a[0].Raw, "m=audio rtp-1 ")
	assert.Contains(t, a[4].Raw, "tag=uuid-1")
	assert.Contains(t, a[0].Raw, "Via: SIP/2.0/UDP alice;")
}
