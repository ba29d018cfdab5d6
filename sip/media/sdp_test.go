package media

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

var (
	aliceAddr = netip.MustParseAddrPort("127.0.0.2:4000")
	bobAddr   = netip.MustParseAddrPort("127.0.0.3:5000")
	parkAddr  = netip.MustParseAddrPort("127.0.0.9:6000")
)

// sdpBody joins lines with CRLF, the way a foreign phone would send them.
func sdpBody(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

func mustParse(t *testing.T, body []byte) Audio {
	t.Helper()
	a, err := ParseAudio(body)
	if err != nil {
		t.Fatalf("ParseAudio: %v\n%s", err, body)
	}
	return a
}

func TestOfferRoundTrip(t *testing.T) {
	body := Offer(aliceAddr, 42)
	a := mustParse(t, body)
	if a.Addr != aliceAddr || !slices.Equal(a.Payloads, []uint8{0, 8, 101}) || a.Direction != "sendrecv" {
		t.Fatalf("ParseAudio(Offer) = %+v\n%s", a, body)
	}
	for _, line := range []string{"o=- 42 42 IN IP4 127.0.0.2", "c=IN IP4 127.0.0.2", "m=audio 4000 RTP/AVP 0 8 101",
		"a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20"} {
		if !strings.Contains(string(body), line+"\r\n") {
			t.Errorf("offer lacks %q:\n%s", line, body)
		}
	}
}

func TestOfferIPv6(t *testing.T) {
	addr := netip.MustParseAddrPort("[::1]:7000")
	body := Offer(addr, 1)
	if a := mustParse(t, body); a.Addr != addr {
		t.Fatalf("addr = %v, want %v\n%s", a.Addr, addr, body)
	}
	if !strings.Contains(string(body), "c=IN IP6 ::1\r\n") {
		t.Errorf("no IP6 c= line:\n%s", body)
	}
}

func TestParseAudioMediaLevelConnection(t *testing.T) {
	body := sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
		"m=video 5002 RTP/AVP 96", "c=IN IP4 10.0.0.7",
		"m=audio 5000 RTP/AVP 8 0", "c=IN IP4 10.0.0.2", "a=sendonly")
	a := mustParse(t, body)
	want := netip.MustParseAddrPort("10.0.0.2:5000")
	if a.Addr != want || !slices.Equal(a.Payloads, []uint8{8, 0}) || a.Direction != "sendonly" {
		t.Fatalf("ParseAudio = %+v, want %v [8 0] sendonly", a, want)
	}
}

func TestParseAudioErrors(t *testing.T) {
	head := []string{"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-"}
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"empty", nil, ErrBadSDP},
		{"garbage", []byte("hello, I am not SDP"), ErrBadSDP},
		{"sip message", []byte("INVITE sip:bob@x SIP/2.0\r\nVia: x\r\n\r\n"), ErrBadSDP},
		{"no audio", sdpBody(append(head, "c=IN IP4 10.0.0.1", "t=0 0", "m=video 5000 RTP/AVP 96")...), ErrNoAudio},
		{"no media", sdpBody(append(head, "c=IN IP4 10.0.0.1", "t=0 0")...), ErrNoAudio},
		{"no c= line", sdpBody(append(head, "t=0 0", "m=audio 5000 RTP/AVP 0")...), ErrBadSDP},
		{"host name", sdpBody(append(head, "c=IN IP4 pbx.example.com", "t=0 0", "m=audio 5000 RTP/AVP 0")...), ErrBadSDP},
		{"family mismatch", sdpBody(append(head, "c=IN IP6 10.0.0.1", "t=0 0", "m=audio 5000 RTP/AVP 0")...), ErrBadSDP},
		{"bad address", sdpBody(append(head, "c=IN IP4 10.0.0.256", "t=0 0", "m=audio 5000 RTP/AVP 0")...), ErrBadSDP},
		{"bad port", sdpBody(append(head, "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 70000 RTP/AVP 0")...), ErrBadSDP},
		{"bad payload type", sdpBody(append(head, "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 5000 RTP/AVP PCMU")...), ErrBadSDP},
		{"payload type over 127", sdpBody(append(head, "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 5000 RTP/AVP 200")...), ErrBadSDP},
		{"bad rtpmap rate", sdpBody(append(head, "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 5000 RTP/AVP 96", "a=rtpmap:96 opus/fast")...), ErrBadSDP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAudio(tt.body)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseAudio = %+v, %v; want %v", a, err, tt.want)
			}
		})
	}
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		name     string
		offer    []byte
		payloads []uint8
		dir      string
	}{
		{"our offer", Offer(aliceAddr, 1), []uint8{0, 101}, "sendrecv"},
		{"PCMA only", sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 5000 RTP/AVP 8", "a=rtpmap:8 PCMA/8000"), []uint8{8}, "sendrecv"},
		{"PCMA preferred, DTMF on 96", sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 5000 RTP/AVP 18 8 0 96", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15"), []uint8{8, 96}, "sendrecv"},
		{"hold", sdpBody("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 5000 RTP/AVP 0", "a=sendonly"), []uint8{0}, "recvonly"},
		{"inactive", sdpBody("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "a=inactive",
			"m=audio 5000 RTP/AVP 0"), []uint8{0}, "inactive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := Answer(tt.offer, bobAddr, 7)
			if err != nil {
				t.Fatalf("Answer: %v", err)
			}
			a := mustParse(t, body)
			if a.Addr != bobAddr || !slices.Equal(a.Payloads, tt.payloads) || a.Direction != tt.dir {
				t.Fatalf("answer = %+v, want %v %v %s\n%s", a, bobAddr, tt.payloads, tt.dir, body)
			}
		})
	}
}

func TestAnswerListening(t *testing.T) {
	for offer, want := range map[string]string{"sendrecv": "recvonly", "sendonly": "recvonly", "recvonly": "inactive"} {
		body, err := AnswerListening(sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 5000 RTP/AVP 0", "a="+offer), bobAddr, 7)
		if err != nil {
			t.Fatal(err)
		}
		if a := mustParse(t, body); a.Direction != want || a.Addr != bobAddr {
			t.Errorf("listening answer to %s = %+v, want %s at %v", offer, a, want, bobAddr)
		}
	}
}

func TestAnswerKeepsMLineOrder(t *testing.T) {
	offer := sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
		"m=video 5002 RTP/AVP 96", "a=rtpmap:96 H264/90000", "m=audio 5000 RTP/AVP 0")
	body, err := Answer(offer, bobAddr, 7)
	if err != nil {
		t.Fatal(err)
	}
	s := string(body)
	video, audio := strings.Index(s, "m=video 0 RTP/AVP 96\r\n"), strings.Index(s, "m=audio 5000 RTP/AVP 0\r\n")
	if video < 0 || audio < video {
		t.Fatalf("want rejected video then audio:\n%s", s)
	}
}

func TestAnswerNoCommonCodec(t *testing.T) {
	offer := sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
		"m=audio 5000 RTP/AVP 18 101", "a=rtpmap:101 telephone-event/8000")
	if _, err := Answer(offer, bobAddr, 7); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("Answer = %v, want ErrNoCommonCodec", err)
	}
	if _, err := Answer([]byte("junk"), bobAddr, 7); !errors.Is(err, ErrBadSDP) {
		t.Fatalf("Answer(junk) = %v, want ErrBadSDP", err)
	}
}

func TestBridge(t *testing.T) {
	bobAnswer := sdpBody("v=0", "o=- 5 5 IN IP4 127.0.0.3", "s=-", "c=IN IP4 127.0.0.3", "t=0 0",
		"m=audio 5000 RTP/AVP 8 101", "a=rtpmap:101 telephone-event/8000")
	tests := []struct {
		name     string
		offer    []byte
		other    []byte
		payloads []uint8
		dir      string
	}{
		{"offer against offer", Offer(aliceAddr, 1), Offer(bobAddr, 2), []uint8{0, 8, 101}, "sendrecv"},
		{"offer against answer", Offer(aliceAddr, 1), bobAnswer, []uint8{8, 101}, "sendrecv"},
		{"offer order wins", sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 4000 RTP/AVP 8 0"), Offer(bobAddr, 2), []uint8{8, 0}, "sendrecv"},
		{"DTMF on another payload type is dropped", sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 4000 RTP/AVP 0 96", "a=rtpmap:96 telephone-event/8000"), Offer(bobAddr, 2), []uint8{0}, "sendrecv"},
		{"other holds", Offer(aliceAddr, 1), sdpBody("v=0", "o=- 5 5 IN IP4 127.0.0.3", "s=-", "c=IN IP4 127.0.0.3", "t=0 0",
			"m=audio 5000 RTP/AVP 0", "a=sendonly"), []uint8{0}, "sendonly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := Bridge(tt.offer, tt.other, 9)
			if err != nil {
				t.Fatalf("Bridge: %v", err)
			}
			a := mustParse(t, body)
			if a.Addr != bobAddr || !slices.Equal(a.Payloads, tt.payloads) || a.Direction != tt.dir {
				t.Fatalf("bridged answer = %+v, want %v %v %s\n%s", a, bobAddr, tt.payloads, tt.dir, body)
			}
		})
	}
}

// TestBridgeBothWays is how the park application uses Bridge: each leg's offer
// is answered with the other leg's media, so each phone sends to the other.
func TestBridgeBothWays(t *testing.T) {
	aliceOffer, bobOffer := Offer(aliceAddr, 1), Offer(bobAddr, 2)
	toAlice, err := Bridge(aliceOffer, bobOffer, 3)
	if err != nil {
		t.Fatal(err)
	}
	toBob, err := Bridge(bobOffer, aliceOffer, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustParse(t, toAlice).Addr; got != bobAddr {
		t.Errorf("alice is sent to %v, want bob %v", got, bobAddr)
	}
	if got := mustParse(t, toBob).Addr; got != aliceAddr {
		t.Errorf("bob is sent to %v, want alice %v", got, aliceAddr)
	}
}

func TestBridgeErrors(t *testing.T) {
	pcmaOnly := sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
		"m=audio 4000 RTP/AVP 8 101", "a=rtpmap:101 telephone-event/8000")
	pcmuOnly := sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.2", "s=-", "c=IN IP4 10.0.0.2", "t=0 0",
		"m=audio 4000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000")
	rejectedAudio := sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.2", "s=-", "c=IN IP4 10.0.0.2", "t=0 0",
		"m=audio 0 RTP/AVP 0")
	tests := []struct {
		name         string
		offer, other []byte
		want         error
	}{
		{"only telephone-event in common", pcmaOnly, pcmuOnly, ErrNoCommonCodec},
		{"bad offer", []byte("v=1"), pcmuOnly, ErrBadSDP},
		{"bad other", pcmaOnly, []byte("m=audio"), ErrBadSDP},
		{"other rejected audio", pcmuOnly, rejectedAudio, ErrNoAudio},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Bridge(tt.offer, tt.other, 1); !errors.Is(err, tt.want) {
				t.Fatalf("Bridge = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzParseAudio checks that no input makes the SDP helpers panic, and that what
// ParseAudio accepts is usable: its address can be answered and bridged.
func FuzzParseAudio(f *testing.F) {
	f.Add(Offer(aliceAddr, 1))
	f.Add(Offer(netip.MustParseAddrPort("[2001:db8::1]:9"), 2))
	f.Add(sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "t=0 0", "m=audio 5000 RTP/AVP 8 96",
		"c=IN IP4 10.0.0.2", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15", "a=sendonly"))
	f.Add([]byte("v=0\r\nm=audio 1 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseAudio(body)
		ans, aerr := Answer(body, bobAddr, 1)
		br, berr := Bridge(Offer(aliceAddr, 1), body, 1)
		for _, out := range [][]byte{ans, br} {
			if out == nil {
				continue
			}
			if _, perr := ParseAudio(out); perr != nil {
				t.Fatalf("an answer we built does not parse: %v\n%s", perr, out)
			}
		}
		if err != nil {
			if aerr == nil || berr == nil {
				t.Fatalf("ParseAudio fails (%v) but Answer (%v) or Bridge (%v) accepts", err, aerr, berr)
			}
			return
		}
		if !a.Addr.Addr().IsValid() {
			t.Fatalf("accepted an invalid address: %+v", a)
		}
	})
}
