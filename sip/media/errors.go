package media

import "errors"

// Errors of the SDP helpers, for callers to branch on with errors.Is. A phone
// answers each of them with 488 Not Acceptable Here (RFC 3261 §21.4.26), and a
// caller that wants to tell a malformed body apart (400) checks ErrBadSDP.
var (
	// ErrNoCommonCodec: the two descriptions share no audio codec.
	ErrNoCommonCodec = errors.New("no common codec")
	// ErrNoAudio: the description has no audio m-line (or, for Bridge, the other
	// party's audio is rejected with port 0).
	ErrNoAudio = errors.New("no audio stream")
	// ErrBadSDP: the body is not SDP, or an address or payload type in it is malformed.
	ErrBadSDP = errors.New("bad sdp")
)
