package sip

import (
	"strconv"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/phone"
)

// A caller's CANCEL that crosses the Call Park application's 2xx gets 200 OK and changes
// nothing (RFC 3261 9.2; RFC 6026 7.1: the INVITE transaction waits in its Accepted state
// for Timer L), whether it reaches the pool while sipgo still holds the INVITE's
// transaction or after the caller's BYE ended it (sipgo reads each request on a goroutine
// of its own, so a CANCEL sent before the BYE may be read after it). Both interleavings are
// forced: the pickup is held after the caller's 200 left, and the caller, a raw UDP peer,
// sends its CANCEL before its ACK and BYE, or after the BYE ended the transaction. Run
// repeated: go test -race -count=20 -run CancelCrossing ./sip/
func TestCancelCrossingThePickupsAnswerGets200(t *testing.T) {
	for _, tc := range []struct {
		name      string
		afterBye  bool
		wantOwnTo bool // the pool's own answer carries the 2xx's To tag (RFC 3261 9.2)
	}{
		{name: "the INVITE transaction is there (sipgo answers)"},
		{name: "the caller's BYE ended it (the pool answers)", afterBye: true, wantOwnTo: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, labTopology())
			l.registerAll("bob", "carol")
			p1, _ := l.net.Pool(pool01)
			h := newHold()
			txEnded := make(chan struct{})
			var endOnce sync.Once
			l.net.armed.Store(&testHooks{beforePickerAnswer: h.at,
				callerTxEnded: func(string, string) { endOnce.Do(func() { close(txEnded) }) }})

			caller := newRawPeer(t)
			branch := "z9hG4bK-crossing-" + gosip.GenerateTagN(8)
			headers := func(method string, seq int, toTag string) []string {
				to := "To: <sip:bob@contoso.com>"
				if toTag != "" {
					to += ";tag=" + toTag
				}
				return []string{"Via: SIP/2.0/UDP {me};branch=" + branch + ";rport", "From: <sip:ext@example.org>;tag=x1", to,
					"Call-ID: crossing-" + branch, "CSeq: " + strconv.Itoa(seq) + " " + method, "Max-Forwards: 70"}
			}
			caller.send(p1.Addr(), rawMsg(caller.addr(), "INVITE sip:bob@contoso.com SIP/2.0", tinySDP("127.0.0.1"),
				append(headers("INVITE", 1, ""), "Contact: <sip:ext@{me}>", "Content-Type: application/sdp")...))
			in := l.phone("bob")
			eventually(t, "bob rings", func() bool { return len(in.Calls()) == 1 })

			pick, err := l.phone("carol").Dial("100")
			require.NoError(t, err)
			<-h.reached // the caller's 200 left; the picker is about to be answered
			var ok *gosip.Response
			for ok == nil {
				m := caller.next(3 * time.Second)
				require.NotNil(t, m, "the caller's 200")
				if res, isRes := m.(*gosip.Response); isRes && res.StatusCode == 200 && res.CSeq().MethodName == gosip.INVITE {
					ok = res
				}
			}
			toTag, _ := ok.To().Params.Get("tag")
			cps := ok.Contact().Address.HostPort()
			ack := func() {
				caller.send(cps, rawMsg(caller.addr(), "ACK "+ok.Contact().Address.String()+" SIP/2.0", "",
					append(headers("ACK", 1, toTag)[1:], "Via: SIP/2.0/UDP {me};branch=z9hG4bK-ack-"+branch)...))
			}
			bye := func() {
				res := caller.final(cps, rawMsg(caller.addr(), "BYE "+ok.Contact().Address.String()+" SIP/2.0", "",
					append(headers("BYE", 2, toTag)[1:], "Via: SIP/2.0/UDP {me};branch=z9hG4bK-bye-"+branch)...))
				require.NotNil(t, res, "the BYE's answer")
				require.Equal(t, 200, res.StatusCode)
			}
			cancel := func() *gosip.Response {
				return caller.final(p1.Addr(), rawMsg(caller.addr(), "CANCEL sip:bob@contoso.com SIP/2.0", "", headers("CANCEL", 1, "")...))
			}

			var res *gosip.Response
			if tc.afterBye {
				ack()
				bye()
				<-txEnded // sipgo's INVITE transaction is gone
				res = cancel()
			} else {
				res = cancel()
				select {
				case <-txEnded:
					t.Fatal("the INVITE transaction ended before the CANCEL")
				default:
				}
				ack()
				bye()
			}
			require.NotNil(t, res, "the CANCEL's answer")
			assert.Equal(t, 200, res.StatusCode, "a CANCEL that crosses a 2xx gets 200 (RFC 3261 9.2)")
			if tc.wantOwnTo {
				got, _ := res.To().Params.Get("tag")
				assert.Equal(t, toTag, got, "the 200 to the CANCEL carries the To tag of the INVITE's 2xx")
			}
			close(h.release)

			st, err := pick.WaitState(ctx(t), phone.Established, phone.Failed)
			require.NoError(t, err)
			require.Equal(t, phone.Failed, st, "the picker is not connected to a caller who hung up")
			assert.Equal(t, 404, pick.Outcome().Code)
			l.leftNothing(pool01)
		})
	}
}

// TestAcceptedInvitesAreRememberedForTimerL: an answered INVITE is remembered for Timer L
// (64*T1, RFC 6026 7.1) on the clock the pool is given, and no more than acceptedMax of
// them, the oldest forgotten first.
func TestAcceptedInvitesAreRememberedForTimerL(t *testing.T) {
	invite := func(branch string) *gosip.Request {
		req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", User: "bob", Host: "contoso.com"})
		req.AppendHeader(&gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "192.0.2.1", Port: 5060,
			Params: gosip.HeaderParams{{K: "branch", V: branch}}})
		cid := gosip.CallIDHeader("c-" + branch)
		req.AppendHeader(&cid)
		req.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.INVITE})
		req.AppendHeader(&gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: "bob", Host: "contoso.com"}})
		return req
	}
	cancelOf := func(inv *gosip.Request) *gosip.Request {
		c := inv.Clone()
		c.Method = gosip.CANCEL
		c.CSeq().MethodName = gosip.CANCEL
		return c
	}
	ok200 := func(inv *gosip.Request) *gosip.Response {
		res := gosip.NewResponseFromRequest(inv, 200, "OK", nil)
		res.To().Params.Remove("tag")
		res.To().Params.Add("tag", "answered")
		return res
	}
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	a := newAcceptedInvites()
	first := invite("z9hG4bK-first")
	a.remember(first, ok200(first), t0)

	tag, ok := a.accepted(cancelOf(first), t0.Add(timerL()-time.Millisecond))
	assert.True(t, ok, "within Timer L")
	assert.Equal(t, "answered", tag)
	_, ok = a.accepted(cancelOf(invite("z9hG4bK-other")), t0)
	assert.False(t, ok, "another branch")
	moved := cancelOf(first)
	moved.Via().Port = 5070
	_, ok = a.accepted(moved, t0)
	assert.False(t, ok, "another sent-by (RFC 3261 17.2.3)")
	_, ok = a.accepted(cancelOf(first), t0.Add(timerL()))
	assert.False(t, ok, "Timer L is over")

	for i := range acceptedMax + 1 {
		inv := invite("z9hG4bK-" + strconv.Itoa(i))
		a.remember(inv, ok200(inv), t0)
	}
	_, ok = a.accepted(cancelOf(invite("z9hG4bK-0")), t0)
	assert.False(t, ok, "the oldest is forgotten past the bound")
	_, ok = a.accepted(cancelOf(invite("z9hG4bK-"+strconv.Itoa(acceptedMax))), t0)
	assert.True(t, ok, "the newest is kept")
	assert.Len(t, a.order, acceptedMax)
}
