package wiretap

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests drive a private hub with what sipgo's tracer and the media tap would report
// (pure logic: no sockets); TestRealTrafficOnce in wire_test.go runs real user agents.

type recorded struct {
	transport, from, to, data string
	media, written            bool
}

type sinkRecorder struct {
	mu  sync.Mutex
	got []recorded
}

func (s *sinkRecorder) Capture(p Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, recorded{p.Transport, p.From.String(), p.To.String(), string(p.Data), p.Media, p.Written})
}

func (s *sinkRecorder) packets() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.got...)
}

func newHub() *hub { return &hub{owner: map[netip.AddrPort]Sink{}, state: map[Sink]*state{}} }

func (h *hub) ownFor(s Sink, addrs ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range addrs {
		h.own(s, netip.MustParseAddrPort(a))
	}
}

const (
	phone = "127.0.0.1:40000"
	pool  = "127.0.0.1:5060"
)

func TestADatagramSeenAtBothEndsIsCapturedOnce(t *testing.T) {
	h, s := newHub(), &sinkRecorder{}
	h.ownFor(s, pool)
	h.SIPTraceWrite("UDP", phone, pool, []byte("REGISTER 1"))
	h.SIPTraceRead("UDP", pool, phone, []byte("REGISTER 1"))
	// The answer is read before its write is traced (sipgo traces after the socket write).
	h.SIPTraceRead("UDP", phone, pool, []byte("SIP/2.0 200 OK"))
	h.SIPTraceWrite("UDP", pool, phone, []byte("SIP/2.0 200 OK"))
	assert.Equal(t, []recorded{
		{"UDP", phone, pool, "REGISTER 1", false, true},
		{"UDP", pool, phone, "SIP/2.0 200 OK", false, false},
	}, s.packets())
}

func TestARetransmissionIsCapturedAgain(t *testing.T) {
	h, s := newHub(), &sinkRecorder{}
	h.ownFor(s, pool)
	for range 2 {
		h.SIPTraceWrite("UDP", phone, pool, []byte("INVITE"))
	}
	for range 2 {
		h.SIPTraceRead("UDP", pool, phone, []byte("INVITE"))
	}
	h.SIPTraceWrite("UDP", phone, pool, []byte("INVITE")) // the third copy is lost
	assert.Len(t, s.packets(), 3, "three copies went on the wire")
}

func TestATCPStreamIsFollowedByOffset(t *testing.T) {
	h, s := newHub(), &sinkRecorder{}
	h.ownFor(s, pool)
	h.SIPTraceWrite("TCP", phone, pool, []byte("INVITE one"))
	h.SIPTraceRead("TCP", pool, phone, []byte("INVITE"))
	h.SIPTraceRead("TCP", pool, phone, []byte(" oneINV")) // the reader is ahead of the writer's trace
	h.SIPTraceWrite("TCP", phone, pool, []byte("INVITE two"))
	h.SIPTraceRead("TCP", pool, phone, []byte("ITE two"))
	// TLS is reported as TCP, decrypted.
	h.SIPTraceRead("TLS", pool, phone, []byte("BYE"))
	var data []string
	for _, p := range s.packets() {
		assert.Equal(t, "TCP", p.transport)
		data = append(data, p.data)
	}
	assert.Equal(t, []string{"INVITE one", "INV", "ITE two", "BYE"}, data, "every byte once, in stream order")
}

func TestMediaFollowsTheSDPOfItsOwnersSIP(t *testing.T) {
	h, a, b, rest := newHub(), &sinkRecorder{}, &sinkRecorder{}, &sinkRecorder{}
	h.ownFor(a, pool)
	h.ownFor(b, "127.0.0.1:5062")
	h.rest = rest
	h.stateOf(rest)
	offer := "INVITE sip:bob@contoso.com SIP/2.0\r\nContent-Type: application/sdp\r\n\r\n" +
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n"
	h.SIPTraceWrite("UDP", phone, pool, []byte(offer))
	alice, bob := netip.MustParseAddrPort("127.0.0.1:30000"), netip.MustParseAddrPort("127.0.0.1:30002")
	h.rtp(alice, bob, []byte("rtp 1"), true)
	h.rtp(alice, bob, []byte("rtp 1"), false)
	h.rtp(bob, alice, []byte("rtp 2"), true)
	h.rtp(netip.MustParseAddrPort("127.0.0.1:31000"), bob, []byte("stranger"), true)

	var media []string
	for _, p := range a.packets() {
		if p.media {
			media = append(media, p.from+">"+p.to+" "+p.data)
		}
	}
	assert.Equal(t, []string{alice.String() + ">" + bob.String() + " rtp 1", bob.String() + ">" + alice.String() + " rtp 2"}, media,
		"the RTP to and from the address pool's SIP advertised, each datagram once")
	assert.Empty(t, b.packets())
	require.Len(t, rest.packets(), 1, "what nobody owns goes to the rest")
	assert.Equal(t, "stranger", rest.packets()[0].data)

	h.mu.Lock()
	for ad, o := range h.owner {
		if o == a {
			delete(h.owner, ad)
		}
	}
	h.mu.Unlock()
	h.rtp(alice, bob, []byte("rtp 3"), true)
	assert.Len(t, rest.packets(), 2, "a released address goes to the rest")
}

func TestARefusedOrHeldStreamIsNotLearned(t *testing.T) {
	for _, m := range []string{"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0", "c=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0"} {
		msg := "SIP/2.0 200 OK\r\n\r\nv=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n" + m + "\r\n"
		assert.False(t, mediaAddr([]byte(msg)).IsValid(), "%q", m)
	}
	assert.False(t, mediaAddr([]byte("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n")).IsValid())
}

func TestAPacketSeenAtOneEndOnlyIsForgotten(t *testing.T) {
	h, s := newHub(), &sinkRecorder{}
	h.ownFor(s, pool)
	st := h.state[s]
	for i := range 100 {
		h.SIPTraceWrite("UDP", phone, pool, fmt.Appendf(nil, "lost %d", i))
	}
	st.mu.Lock()
	assert.Len(t, st.pending, 100)
	st.sweep(time.Now().Add(2 * window))
	assert.Empty(t, st.pending, "what waited a window for its other end is forgotten")
	st.mu.Unlock()
}
