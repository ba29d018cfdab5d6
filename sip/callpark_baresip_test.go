package sip

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/baresiptest"
)

// Park and retrieve with unmodified softphones (issue 11.1): baresip blind-transfers
// without Referred-By and copies no headers from the Refer-To URI, its NOTIFY sipfrag
// carries only a status line, and it sends every request through its outbound proxy.

// startBaresip starts a baresip phone for user, registered on the pool at addr.
func startBaresip(t *testing.T, user, addr string, autoAnswer bool) *baresiptest.Phone {
	return baresiptest.Start(t, baresiptest.Config{User: user, Domain: "contoso.com", Proxy: addr, AutoAnswer: autoAnswer})
}

// waitEvent waits up to 15 s for an event of one of types on ph's call with peer (a URI
// prefix; empty for any), from index since on.
func waitEvent(t *testing.T, ph *baresiptest.Phone, since int, peer string, types ...string) baresiptest.Event {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	is := baresiptest.Is(types...)
	e, err := ph.WaitEvent(c, since, func(e baresiptest.Event) bool {
		return is(e) && strings.HasPrefix(e.PeerURI, peer)
	})
	require.NoError(t, err, "%s waiting for %v with %q", ph.User, types, peer)
	return e
}

// rtpReceived waits for a CALL_RTCP event on ph's call with peer that reports RTP packets
// received (baresip reports them as rtcp_stats.rx.sent, about every 5 s).
func rtpReceived(t *testing.T, ph *baresiptest.Phone, since int, peer string) int {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got int
	_, err := ph.WaitEvent(c, since, func(e baresiptest.Event) bool {
		if e.Type != "CALL_RTCP" || !strings.HasPrefix(e.PeerURI, peer) {
			return false
		}
		got = rtcpReceived(e)
		return got > 0
	})
	require.NoError(t, err, "%s never reported RTP received on its call with %s", ph.User, peer)
	return got
}

func rtcpReceived(e baresiptest.Event) int {
	stats, _ := e.Raw["rtcp_stats"].(map[string]any)
	rx, _ := stats["rx"].(map[string]any)
	n, _ := rx["sent"].(float64)
	return int(n)
}

func TestBaresipParksAndRetrieves(t *testing.T) {
	for _, tc := range []struct {
		name, parkURI string
		parkee        string // dave on pool01, or erin on pool02
	}{
		{"sip:park@contoso.com", "sip:park@contoso.com", "dave"},
		{"sip:park@pool address", "", "dave"},
		{"parkee on the other pool", "sip:park@contoso.com", "erin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newParkLab(t, nil)
			p1, _ := l.net.Pool(pool01)
			p2, _ := l.net.Pool(pool02)
			parkeePool := p1
			if tc.parkee == "erin" {
				parkeePool = p2
			}
			alice := startBaresip(t, "alice", p1.Addr(), false)
			parkee := startBaresip(t, tc.parkee, parkeePool.Addr(), true)
			carol := startBaresip(t, "carol", p1.Addr(), false)
			parkURI := tc.parkURI
			if parkURI == "" {
				parkURI = "sip:park@" + p1.Addr()
			}

			alice.Do("dial", "sip:"+tc.parkee+"@contoso.com")
			waitEvent(t, parkee, 0, "sip:alice@", "CALL_ESTABLISHED")
			waitEvent(t, alice, 0, "sip:"+tc.parkee+"@", "CALL_ESTABLISHED")

			mark, markParkee := alice.Mark(), parkee.Mark()
			alice.Do("transfer", parkURI)
			waitEvent(t, parkee, markParkee, "sip:park@", "CALL_ESTABLISHED")
			waitEvent(t, alice, mark, "sip:"+tc.parkee+"@", "CALL_CLOSED")
			require.Len(t, p1.ParkedCalls(), 1, "alice's pool parks")
			parked := p1.ParkedCalls()[0]
			assert.Equal(t, "alice", parked.Parker, "found from the conversation the pools proxied")
			assert.Equal(t, tc.parkee, parked.Parkee)
			assert.Equal(t, "7000", parked.Orbit)

			markParkee = parkee.Mark()
			carol.Do("dial", fmt.Sprintf("sip:%s@contoso.com", parked.Orbit))
			waitEvent(t, carol, 0, "sip:"+parked.Orbit+"@", "CALL_ESTABLISHED")
			eventually(t, "orbit freed", func() bool { return len(p1.ParkedCalls()) == 0 })
			// RTP both ways, as each baresip counts what it received: the parkee's park call now
			// carries carol's RTP (music on hold sends no RTCP), and carol's call the parkee's.
			assert.Positive(t, rtpReceived(t, parkee, markParkee, "sip:park@"), "the parkee hears carol")
			assert.Positive(t, rtpReceived(t, carol, 0, "sip:"+parked.Orbit+"@"), "carol hears the parkee")

			carol.Do("hangup", "")
			waitEvent(t, parkee, markParkee, "sip:park@", "CALL_CLOSED")
		})
	}
}
