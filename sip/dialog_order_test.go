package sip

import (
	"fmt"
	"net"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestThePoolPassesOnAnACKBeforeTheBYEReadAfterIt: the caller ACKs the callee's 200 and
// hangs up at once; the pool is slow with the ACK (a hook holds it 100 ms, as a loaded
// pool's scheduler did for 11.5 ms in issue 14's capture). The callee still gets the ACK
// first, then the BYE: a proxy keeps the order of a dialog's messages.
func TestThePoolPassesOnAnACKBeforeTheBYEReadAfterIt(t *testing.T) {
	for i := range 5 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			l := newLab(t, labTopology())
			p1, _ := l.net.Pool(pool01)
			callee, caller := newRawPeer(t), newRawPeer(t)
			res := callee.final(p1.Addr(), registerMsg(callee.addr(), "UDP", "alice"))
			require.NotNil(t, res)
			require.Equal(t, 200, res.StatusCode)

			callID := "order-" + gosip.GenerateTagN(8)
			caller.send(p1.Addr(), rawMsg(caller.addr(), "INVITE sip:alice@contoso.com SIP/2.0", tinySDP("127.0.0.1"),
				"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:ext@example.org>;tag=caller1",
				"To: <sip:alice@contoso.com>", "Call-ID: "+callID, "CSeq: 1 INVITE",
				"Contact: <sip:ext@{me}>", "Max-Forwards: 70", "Content-Type: application/sdp"))
			invite := nextRequest(t, callee, "INVITE")
			ok := gosip.NewResponseFromRequest(invite, 200, "OK", []byte(tinySDP("127.0.0.1")))
			ok.To().Params.Add("tag", "callee1")
			ok.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1", Port: callee.conn.LocalAddr().(*net.UDPAddr).Port}})
			ok.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
			callee.send(p1.Addr(), ok.String())
			for {
				m := caller.next(3 * time.Second)
				require.NotNil(t, m, "the caller never got the 200 OK")
				if r, isRes := m.(*gosip.Response); isRes && r.StatusCode == 200 {
					break
				}
			}

			l.net.armed.Store(&testHooks{beforeAckRelay: func(id, _ string) {
				if id == callID {
					time.Sleep(100 * time.Millisecond)
				}
			}})
			t.Cleanup(func() { l.net.armed.Store(nil) })
			inDialog := func(method string, cseq int) string {
				return rawMsg(caller.addr(), method+" sip:alice@"+callee.addr()+" SIP/2.0", "",
					"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:ext@example.org>;tag=caller1",
					"To: <sip:alice@contoso.com>;tag=callee1", "Call-ID: "+callID, fmt.Sprintf("CSeq: %d %s", cseq, method),
					"Max-Forwards: 70")
			}
			caller.send(p1.Addr(), inDialog("ACK", 1))
			caller.send(p1.Addr(), inDialog("BYE", 2))

			var order []string
			for len(order) < 2 {
				m := callee.next(3 * time.Second)
				require.NotNil(t, m, "the callee got only %v", order)
				if r, isReq := m.(*gosip.Request); isReq && (r.Method == gosip.ACK || r.Method == gosip.BYE) {
					order = append(order, string(r.Method))
				}
			}
			assert.Equal(t, []string{"ACK", "BYE"}, order, "what the callee got, in order")
		})
	}
}

// nextRequest returns the next request of method that peer gets within 3 s.
func nextRequest(t *testing.T, peer *rawPeer, method gosip.RequestMethod) *gosip.Request {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if r, ok := peer.next(time.Until(deadline)).(*gosip.Request); ok && r.Method == method {
			return r
		}
	}
	t.Fatalf("no %s arrived", method)
	return nil
}

func TestRawCallIDReadsLongAndCompactForms(t *testing.T) {
	for raw, want := range map[string]string{
		"ACK sip:a@h SIP/2.0\r\nVia: x\r\nCall-ID:  abc@h \r\n\r\nbody Call-ID: no": "abc@h",
		"ACK sip:a@h SIP/2.0\r\ni:xyz\r\n\r\n":                                      "xyz",
		"ACK sip:a@h SIP/2.0\r\ncall-id\t: tab\r\n\r\n":                             "tab",
		"ACK sip:a@h SIP/2.0\r\nVia: i: not\r\n\r\nCall-ID: in-body":                "",
	} {
		assert.Equal(t, want, rawCallID([]byte(raw)), raw)
	}
}

// An ACK that never reaches a handler (sipgo's transaction absorbs the ACK of a non-2xx
// answer) holds the dialog's next request for ackWaitLimit at most, and is forgotten.
func TestAnAbsorbedACKHoldsNothingForLong(t *testing.T) {
	o := newAckOrder()
	o.read([]byte("ACK sip:a@h SIP/2.0\r\nCall-ID: c1\r\n\r\n"))
	start := time.Now()
	o.waitAcks("c1")
	assert.GreaterOrEqual(t, time.Since(start), ackWaitLimit-10*time.Millisecond)
	o.waitAcks("c1") // the limit has passed: at once
	assert.Less(t, time.Since(start), ackWaitLimit+200*time.Millisecond)

	o.read([]byte("ACK sip:a@h SIP/2.0\r\nCall-ID: c2\r\n\r\n"))
	o.handled("c2")
	o.waitAcks("c2") // handled: at once
	o.read([]byte("BYE sip:a@h SIP/2.0\r\nCall-ID: c3\r\n\r\n"))
	o.mu.Lock()
	defer o.mu.Unlock()
	assert.NotContains(t, o.pending, "c2")
	assert.NotContains(t, o.pending, "c3", "only ACKs are noted")
}
