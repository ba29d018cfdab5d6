package media

import (
	"strings"

	"github.com/pion/sdp/v3"
)

// codec is one payload type of an audio m-line, named by its rtpmap or, for
// static payload types without one, by RFC 3551 table 4.
type codec struct {
	pt   uint8
	name string
	rate uint32
	fmtp string
}

var (
	pcmu           = codec{pt: PayloadPCMU, name: "PCMU", rate: ClockRate}
	pcma           = codec{pt: PayloadPCMA, name: "PCMA", rate: ClockRate}
	telephoneEvent = codec{pt: PayloadTelephoneEvent, name: "telephone-event", rate: ClockRate, fmtp: "0-16"}
)

// staticCodec names a payload type from RFC 3551 table 4; others stay unnamed
// until an rtpmap names them.
func staticCodec(pt uint8) codec {
	switch pt {
	case 0:
		return pcmu
	case 3:
		return codec{pt: 3, name: "GSM", rate: ClockRate}
	case 8:
		return pcma
	case 9:
		return codec{pt: 9, name: "G722", rate: ClockRate} // sampled at 16 kHz, clocked at 8 (RFC 3551 §4.5.2)
	case 13:
		return codec{pt: 13, name: "CN", rate: ClockRate}
	case 18:
		return codec{pt: 18, name: "G729", rate: ClockRate}
	}
	return codec{pt: pt}
}

// same reports whether c and o are one codec under one payload type. Bridged media
// flows end to end untouched, so a payload type only matches the same payload type.
func (c codec) same(o codec) bool {
	return c.pt == o.pt && c.rate == o.rate && strings.EqualFold(c.name, o.name)
}

// isVoice tells a codec that carries the call's audio from the helpers that ride
// along: DTMF events (RFC 4733) and comfort noise (RFC 3389).
func (c codec) isVoice() bool {
	return !strings.EqualFold(c.name, "telephone-event") && !strings.EqualFold(c.name, "CN")
}

// find returns the first codec of cs that is the same as c.
func find(cs []codec, c codec) (codec, bool) {
	for _, x := range cs {
		if x.same(c) {
			return x, true
		}
	}
	return codec{}, false
}

// firstByName returns the first codec of cs with that encoding name and clock rate.
func firstByName(cs []codec, name string, rate uint32) (codec, bool) {
	for _, c := range cs {
		if strings.EqualFold(c.name, name) && c.rate == rate {
			return c, true
		}
	}
	return codec{}, false
}

// direction is an m-line's direction attribute as a pair of flags (RFC 3264 §5.1).
type direction struct{ send, recv bool }

var sendrecv = direction{send: true, recv: true}

// parseDirection reads the direction: a media-level attribute wins over a
// session-level one, and sendrecv is the default (RFC 4566 §6).
func parseDirection(session, media []sdp.Attribute) direction {
	for _, attrs := range [][]sdp.Attribute{media, session} {
		for _, a := range attrs {
			switch a.Key {
			case "sendrecv":
				return sendrecv
			case "sendonly":
				return direction{send: true}
			case "recvonly":
				return direction{recv: true}
			case "inactive":
				return direction{}
			}
		}
	}
	return sendrecv
}

// answerTo is the direction of an answer from a party that can do d to an offer
// of o (RFC 3264 §6.1): send only what the offerer receives, and the reverse.
func (d direction) answerTo(o direction) direction {
	return direction{send: d.send && o.recv, recv: d.recv && o.send}
}

func (d direction) String() string {
	switch d {
	case sendrecv:
		return "sendrecv"
	case direction{send: true}:
		return "sendonly"
	case direction{recv: true}:
		return "recvonly"
	}
	return "inactive"
}
