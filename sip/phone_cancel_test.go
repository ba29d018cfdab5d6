package sip

import (
	"context"
	"net"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/media"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// A 2xx that crosses the phone's CANCEL is still a 2xx (RFC 3261 §9.1, §15): the phone
// acknowledges it and hangs the session up with a BYE, so the far end is not left in a
// call with nobody (issue 9.4a). The far end here is a raw UDP peer, so the test decides
// the order of every message.

// rawUAS is a UAS on a bare UDP socket, scripted message by message. Like a UAS, it
// answers a retransmitted INVITE with its last provisional response (so that the test
// also holds on a lossy network).
type rawUAS struct {
	t       *testing.T
	conn    net.PacketConn
	ringing *gosip.Response
}

func newRawUAS(t *testing.T) *rawUAS {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &rawUAS{t: t, conn: conn}
}

func (p *rawUAS) addr() string { return p.conn.LocalAddr().String() }

// next reads the next request of method m (others are skipped: retransmissions, PRACKs
// answered 200) and returns it with where it came from.
func (p *rawUAS) next(m gosip.RequestMethod) (*gosip.Request, net.Addr) {
	p.t.Helper()
	buf := make([]byte, 65535)
	p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		n, from, err := p.conn.ReadFrom(buf)
		require.NoError(p.t, err, "waiting for %s", m)
		msg, err := gosip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue // a keep-alive
		}
		req, ok := msg.(*gosip.Request)
		if !ok {
			continue
		}
		if req.Method == m {
			return req, from
		}
		switch {
		case req.Method == gosip.PRACK:
			p.send(gosip.NewResponseFromRequest(req, 200, "OK", nil), from)
		case req.Method == gosip.INVITE && p.ringing != nil:
			p.send(p.ringing, from)
		}
	}
}

// untilAck sends a 2xx, again every T1, until its ACK arrives (RFC 3261 §13.3.1.4).
func (p *rawUAS) untilAck(res *gosip.Response, to net.Addr) *gosip.Request {
	p.t.Helper()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.send(res, to)
		p.conn.SetReadDeadline(time.Now().Add(gosip.T1))
		for {
			n, _, err := p.conn.ReadFrom(buf)
			if err != nil {
				break // T1 passed: send the 2xx again
			}
			if msg, err := gosip.ParseMessage(append([]byte(nil), buf[:n]...)); err == nil {
				if req, ok := msg.(*gosip.Request); ok && req.Method == gosip.ACK {
					return req
				}
			}
		}
	}
	p.t.Fatal("no ACK for the 2xx")
	return nil
}

func (p *rawUAS) send(res *gosip.Response, to net.Addr) {
	_, err := p.conn.WriteTo([]byte(res.String()), to)
	require.NoError(p.t, err)
}

func TestLateAnswerToACancelledCallIsAcknowledgedAndHungUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		// cancelCopies is how many copies of the CANCEL the peer reads before it answers
		// the INVITE: 1 is a 200 that crosses the CANCEL; 3 a 200 sent after the phone
		// retransmitted its unanswered CANCEL twice (T1, then 2*T1).
		cancelCopies int
	}{
		{"200 crosses the CANCEL", 1},
		{"200 long after an unanswered CANCEL", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer := newRawUAS(t)
			ph, err := phone.New(phone.Config{User: "alice", Domain: "contoso.com", Registrars: []string{peer.addr()}})
			require.NoError(t, err)
			t.Cleanup(ph.Close)
			call, err := ph.Dial("bob")
			require.NoError(t, err)

			invite, from := peer.next(gosip.INVITE)
			invite.To().Params.Add("tag", "peer")
			ringing := gosip.NewResponseFromRequest(invite, 180, "Ringing", nil)
			ringing.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1", Port: peer.conn.LocalAddr().(*net.UDPAddr).Port}})
			peer.ringing = ringing
			var sent time.Time
			for deadline := time.Now().Add(10 * time.Second); call.State() != phone.Ringing; time.Sleep(time.Millisecond) {
				require.True(t, time.Now().Before(deadline), "the phone never heard its call ring")
				if time.Since(sent) > gosip.T1 {
					peer.send(ringing, from) // again, as for a retransmitted INVITE: one may be lost
					sent = time.Now()
				}
			}

			hungUp := make(chan error, 1)
			go func() { hungUp <- call.Hangup(context.Background()) }()
			for range tc.cancelCopies {
				peer.next(gosip.CANCEL) // held: not answered
			}
			rtp, err := media.Listen("127.0.0.1")
			require.NoError(t, err)
			t.Cleanup(func() { rtp.Close() })
			ok := gosip.NewResponseFromRequest(invite, 200, "OK", media.Offer(rtp.LocalAddr(), 1))
			ok.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
			ok.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1", Port: peer.conn.LocalAddr().(*net.UDPAddr).Port}})
			ack := peer.untilAck(ok, from)
			assert.Equal(t, invite.CSeq().SeqNo, ack.CSeq().SeqNo, "the ACK acknowledges the INVITE's 2xx")
			bye, byeFrom := peer.next(gosip.BYE)
			peer.send(gosip.NewResponseFromRequest(bye, 200, "OK", nil), byeFrom)

			select {
			case err := <-hungUp:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("Hangup did not return")
			}
			assert.Equal(t, phone.Ended, call.State())
			assert.Contains(t, call.EndReason(), "answered as it was cancelled")
		})
	}
}
