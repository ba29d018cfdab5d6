package runner

import (
	"strconv"
	"strings"
)

// sipMsg is what the recorder reads of a SIP message: enough to tell which transaction
// and dialog it belongs to and what it answers, no more. It reads the long header names
// the simulator's user agents write (sipgo) and their compact forms.
type sipMsg struct {
	request bool
	method  string // the request's method, or the CSeq method of a response
	code    int    // a response's status
	callID  string
	cseq    uint32 // the CSeq number
	branch  string // the top Via's branch
	branch2 string // the second Via's branch: the request a proxy forwards
	vias    int    // how many Via header values: 1 + the proxies the message passed
	fromTag string
	toTag   string
	rseq    string // RSeq: a reliable provisional response (RFC 3262)
	rack    string // RAck: "rseq cseq method", what a PRACK acknowledges
	subs    string // Subscription-State
	event   string
}

var compact = map[string]string{"v": "via", "i": "call-id", "f": "from", "t": "to", "o": "event"}

// parseSIP reads raw, a SIP message as it went on the wire. ok is false for anything
// that is not one (a keep-alive, a fragment of a TCP stream).
func parseSIP(raw string) (m sipMsg, ok bool) {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	start := lines[0]
	switch {
	case strings.HasPrefix(start, "SIP/2.0 "):
		code, err := strconv.Atoi(strings.Fields(start)[1])
		if err != nil {
			return m, false
		}
		m.code = code
	case strings.HasSuffix(start, " SIP/2.0"):
		m.request = true
		m.method, _, _ = strings.Cut(start, " ")
	default:
		return m, false
	}
	vias := 0
	for _, line := range lines[1:] {
		name, value, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if long, ok := compact[name]; ok {
			name = long
		}
		switch name {
		case "via":
			for _, v := range strings.Split(value, ",") {
				switch vias {
				case 0:
					m.branch = param(v, "branch")
				case 1:
					m.branch2 = param(v, "branch")
				}
				vias++
			}
		case "call-id":
			m.callID = value
		case "cseq":
			f := strings.Fields(value)
			if len(f) == 2 {
				n, _ := strconv.ParseUint(f[0], 10, 32)
				m.cseq = uint32(n)
				if !m.request {
					m.method = f[1]
				}
			}
		case "from":
			m.fromTag = param(value, "tag")
		case "to":
			m.toTag = param(value, "tag")
		case "rseq":
			m.rseq = value
		case "rack":
			m.rack = strings.Join(strings.Fields(value), " ")
		case "subscription-state":
			m.subs = strings.ToLower(value)
		case "event":
			m.event = strings.ToLower(value)
		}
	}
	m.vias = vias
	return m, m.callID != ""
}

// param returns a header value's parameter (";name=value"), "" without one.
func param(value, name string) string {
	for _, p := range strings.Split(value, ";")[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, name) {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// invite reports whether m is an INVITE or a response to one.
func (m sipMsg) invite() bool { return m.method == "INVITE" }

// final reports whether m is a final response.
func (m sipMsg) final() bool { return !m.request && m.code >= 200 }
