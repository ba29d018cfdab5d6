package media

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Audio is what an SDP body says about its audio stream.
type Audio struct {
	Addr      netip.AddrPort // c= address and m=audio port; port 0 means rejected
	Payloads  []uint8        // offered payload types, in order
	Direction string         // sendrecv (the default), sendonly, recvonly or inactive
}

// ParseAudio reads the first audio m-line of an SDP body and its connection
// address (media-level c=, else session-level c=, RFC 4566 §5.7). Malformed SDP,
// a missing or malformed address, or a non-numeric payload type is an ErrBadSDP;
// a body without audio is an ErrNoAudio.
func ParseAudio(body []byte) (Audio, error) {
	_, a, err := parseSession(body)
	if err != nil {
		return Audio{}, err
	}
	return Audio{Addr: a.addr, Payloads: payloadTypes(a.codecs), Direction: a.dir.String()}, nil
}

// audioMedia is the first audio m-line of a session, parsed.
type audioMedia struct {
	index  int // of the m-line among the session's media descriptions
	addr   netip.AddrPort
	codecs []codec // in m-line order
	dir    direction
}

// parseSession unmarshals body and finds its first audio m-line.
func parseSession(body []byte) (*sdp.SessionDescription, audioMedia, error) {
	if len(bytes.TrimSpace(body)) == 0 { // pion reads nothing as an empty session
		return nil, audioMedia{}, fmt.Errorf("parse sdp: %w: empty body", ErrBadSDP)
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		return nil, audioMedia{}, fmt.Errorf("parse sdp: %w: %w", ErrBadSDP, err)
	}
	for i, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			continue
		}
		a, err := parseAudioMedia(&sd, md)
		if err != nil {
			return nil, audioMedia{}, fmt.Errorf("parse sdp audio m-line %d: %w", i+1, err)
		}
		a.index = i
		return &sd, a, nil
	}
	return nil, audioMedia{}, fmt.Errorf("parse sdp: %w", ErrNoAudio)
}

func parseAudioMedia(sd *sdp.SessionDescription, md *sdp.MediaDescription) (audioMedia, error) {
	conn := md.ConnectionInformation
	if conn == nil {
		conn = sd.ConnectionInformation
	}
	ip, err := connectionAddr(conn)
	if err != nil {
		return audioMedia{}, err
	}
	port := md.MediaName.Port.Value
	if port < 0 || port > 65535 {
		return audioMedia{}, fmt.Errorf("%w: port %d", ErrBadSDP, port)
	}
	codecs, err := mediaCodecs(md)
	if err != nil {
		return audioMedia{}, err
	}
	return audioMedia{
		addr:   netip.AddrPortFrom(ip, uint16(port)),
		codecs: codecs,
		dir:    parseDirection(sd.Attributes, md.Attributes),
	}, nil
}

// connectionAddr reads a c= line: IN IP4 or IN IP6 with a literal address of that
// family. Host names and multicast TTL/range suffixes are not supported.
func connectionAddr(c *sdp.ConnectionInformation) (netip.Addr, error) {
	if c == nil || c.Address == nil {
		return netip.Addr{}, fmt.Errorf("%w: no connection address", ErrBadSDP)
	}
	ip, err := netip.ParseAddr(c.Address.Address)
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%w: connection address %q", ErrBadSDP, c.Address.Address)
	}
	if (c.AddressType == "IP4") != ip.Is4() {
		return netip.Addr{}, fmt.Errorf("%w: connection address %s is not %s", ErrBadSDP, ip, c.AddressType)
	}
	return ip, nil
}

// mediaCodecs lists the payload types of an m-line with their rtpmap and fmtp
// (RFC 4566 §6), falling back to the static table of RFC 3551 for those without.
func mediaCodecs(md *sdp.MediaDescription) ([]codec, error) {
	codecs := make([]codec, 0, len(md.MediaName.Formats))
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 7) // RTP payload types have 7 bits
		if err != nil {
			return nil, fmt.Errorf("%w: payload type %q", ErrBadSDP, f)
		}
		codecs = append(codecs, staticCodec(uint8(pt)))
	}
	for _, a := range md.Attributes {
		pt, rest, ok := strings.Cut(a.Value, " ")
		i := indexOfPT(codecs, pt)
		if !ok || i < 0 {
			continue // not about a payload type of this m-line
		}
		switch a.Key {
		case "rtpmap": // <encoding name>/<clock rate>[/<channels>]
			name, rate, _ := strings.Cut(rest, "/")
			rate, _, _ = strings.Cut(rate, "/")
			r, err := strconv.ParseUint(rate, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("%w: rtpmap %q", ErrBadSDP, a.Value)
			}
			codecs[i].name, codecs[i].rate = name, uint32(r)
		case "fmtp":
			codecs[i].fmtp = rest
		}
	}
	return codecs, nil
}

func indexOfPT(codecs []codec, pt string) int {
	n, err := strconv.ParseUint(pt, 10, 7)
	if err != nil {
		return -1
	}
	for i, c := range codecs {
		if c.pt == uint8(n) {
			return i
		}
	}
	return -1
}
