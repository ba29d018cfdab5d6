package media

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/pion/sdp/v3"
)

// sessionName is the s= line of every description this package builds.
const sessionName = "pickupsim"

// Offer builds an SDP offer for media at addr: PCMU 0, PCMA 8 and
// telephone-event 101, sendrecv, 20 ms packets. sessionID is the o= session id
// and version; the simulator takes it from its seeded generator. addr must be a
// valid address (a Stream's LocalAddr).
func Offer(addr netip.AddrPort, sessionID uint64) []byte {
	sd := newSession(addr.Addr(), sessionID)
	sd.MediaDescriptions = []*sdp.MediaDescription{
		audioDescription(addr.Port(), []codec{pcmu, pcma, telephoneEvent}, sendrecv),
	}
	return marshal(sd)
}

// Answer builds the answer (RFC 3264 §6) of a phone with media at addr to offer:
// the offer's first codec it supports (PCMU 0 or PCMA 8), plus the offer's
// telephone-event payload type when there is one, and the direction that mirrors
// the offer's (a sendonly hold offer is answered recvonly). Other m-lines are
// rejected with port 0. ErrNoCommonCodec when the offer has neither G.711 law.
func Answer(offer []byte, addr netip.AddrPort, sessionID uint64) ([]byte, error) {
	return answerAs(offer, addr, sessionID, sendrecv)
}

// AnswerListening is Answer from a party that receives but never sends: its answer
// says recvonly (or inactive, to an offer that does not send), so that the offerer
// knows silence on this stream is intended (RFC 3264 §6.1) and does not take it for a
// dead line. The Call Park application answers a parked call so when music on hold is
// off.
func AnswerListening(offer []byte, addr netip.AddrPort, sessionID uint64) ([]byte, error) {
	return answerAs(offer, addr, sessionID, direction{recv: true})
}

func answerAs(offer []byte, addr netip.AddrPort, sessionID uint64, can direction) ([]byte, error) {
	if !addr.Addr().IsValid() {
		return nil, fmt.Errorf("answer: invalid local address %v", addr)
	}
	osd, oa, err := parseSession(offer)
	if err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	var chosen []codec
	for _, c := range oa.codecs {
		if c.same(pcmu) || c.same(pcma) {
			chosen = append(chosen, c)
			break
		}
	}
	if len(chosen) == 0 {
		return nil, fmt.Errorf("answer: offer has %v: %w", payloadTypes(oa.codecs), ErrNoCommonCodec)
	}
	if te, ok := firstByName(oa.codecs, telephoneEvent.name, ClockRate); ok {
		chosen = append(chosen, te)
	}
	return answer(osd, oa, addr, chosen, can.answerTo(oa.dir), sessionID), nil
}

// Bridge builds the answer to offer that points the offerer at another party's
// media: the connection address and port of other (another SDP, offer or answer),
// and the offer's codecs that other also has under the same payload type, in the
// offer's order. The direction allows only what both ends do: the bridged answer
// sends if other sends and the offerer receives, and the reverse.
//
// It is used by the Call Park application, which answers two INVITEs with each
// other's media so that RTP flows end to end. ErrNoCommonCodec when the two
// share no voice codec (telephone-event and CN alone do not count); ErrNoAudio
// when other has no audio or has rejected it.
func Bridge(offer, other []byte, sessionID uint64) ([]byte, error) {
	osd, oa, err := parseSession(offer)
	if err != nil {
		return nil, fmt.Errorf("bridge offer: %w", err)
	}
	_, xa, err := parseSession(other)
	if err != nil {
		return nil, fmt.Errorf("bridge other: %w", err)
	}
	if xa.addr.Port() == 0 {
		return nil, fmt.Errorf("bridge other: audio rejected (port 0): %w", ErrNoAudio)
	}
	var common []codec
	voice := false
	for _, c := range oa.codecs {
		if _, ok := find(xa.codecs, c); ok {
			common = append(common, c)
			voice = voice || c.isVoice()
		}
	}
	if !voice {
		return nil, fmt.Errorf("bridge: offer has %v, other has %v: %w",
			payloadTypes(oa.codecs), payloadTypes(xa.codecs), ErrNoCommonCodec)
	}
	return answer(osd, oa, xa.addr, common, xa.dir.answerTo(oa.dir), sessionID), nil
}

// answer builds an answer to offer osd whose audio m-line (oa) is answered with
// media at addr, codecs and dir; every other m-line is rejected, keeping the
// offer's m-line order as RFC 3264 §6 requires.
func answer(osd *sdp.SessionDescription, oa audioMedia, addr netip.AddrPort, codecs []codec, dir direction, sessionID uint64) []byte {
	sd := newSession(addr.Addr(), sessionID)
	port := addr.Port()
	if oa.addr.Port() == 0 {
		port = 0 // a stream rejected in the offer stays rejected (RFC 3264 §6)
	}
	for i, md := range osd.MediaDescriptions {
		if i == oa.index {
			sd.MediaDescriptions = append(sd.MediaDescriptions, audioDescription(port, codecs, dir))
			continue
		}
		sd.MediaDescriptions = append(sd.MediaDescriptions, rejected(md))
	}
	return marshal(sd)
}

// newSession builds the session-level lines, with the connection address at
// session level so that it covers every m-line.
func newSession(ip netip.Addr, sessionID uint64) *sdp.SessionDescription {
	ip = ip.WithZone("") // SDP has no syntax for zones
	nettype, addrtype := "IN", "IP4"
	if ip.Is6() && !ip.Is4In6() {
		addrtype = "IP6"
	}
	ip = ip.Unmap()
	return &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username: "-", SessionID: sessionID, SessionVersion: sessionID,
			NetworkType: nettype, AddressType: addrtype, UnicastAddress: ip.String(),
		},
		SessionName: sessionName,
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: nettype, AddressType: addrtype,
			Address: &sdp.Address{Address: ip.String()},
		},
		TimeDescriptions: []sdp.TimeDescription{{}}, // t=0 0: unbounded
	}
}

// audioDescription builds an RTP/AVP audio m-line with an rtpmap (and fmtp) per
// codec, ptime 20 and the direction.
func audioDescription(port uint16, codecs []codec, dir direction) *sdp.MediaDescription {
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: "audio", Port: sdp.RangedPort{Value: int(port)}, Protos: []string{"RTP", "AVP"},
	}}
	for _, c := range codecs {
		pt := strconv.Itoa(int(c.pt))
		md.MediaName.Formats = append(md.MediaName.Formats, pt)
		if c.name != "" {
			md.Attributes = append(md.Attributes, sdp.NewAttribute("rtpmap", fmt.Sprintf("%s %s/%d", pt, c.name, c.rate)))
		}
		if c.fmtp != "" {
			md.Attributes = append(md.Attributes, sdp.NewAttribute("fmtp", pt+" "+c.fmtp))
		}
	}
	md.Attributes = append(md.Attributes,
		sdp.NewAttribute("ptime", strconv.Itoa(int(Ptime.Milliseconds()))),
		sdp.NewPropertyAttribute(dir.String()))
	return md
}

// rejected answers an m-line the answerer does not take: same media and
// transport, port 0 (RFC 3264 §6).
func rejected(md *sdp.MediaDescription) *sdp.MediaDescription {
	return &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media:   md.MediaName.Media,
		Port:    sdp.RangedPort{Value: 0},
		Protos:  md.MediaName.Protos,
		Formats: md.MediaName.Formats[:min(1, len(md.MediaName.Formats))],
	}}
}

// marshal renders sd. pion's Marshal never fails (it returns an error only for
// the sake of its signature), so the error is dropped here.
func marshal(sd *sdp.SessionDescription) []byte {
	b, _ := sd.Marshal()
	return b
}

func payloadTypes(cs []codec) []uint8 {
	pts := make([]uint8, len(cs))
	for i, c := range cs {
		pts[i] = c.pt
	}
	return pts
}
