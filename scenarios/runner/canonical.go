package runner

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// A replay's messages, as a diff reads them. Two replays of a scenario with one seed make
// the same messages (package sip/ids), but not in the same order, nor on the same ports:
// phones answer a forked INVITE, and pools report ringing calls, concurrently, and the
// kernel picks the ports. Canonical lists them so that two replays list them alike:
//   - every message once: a retransmission (the same bytes on the same hop) is not
//     listed again;
//   - every message under the step (and at the virtual time) it was sent in, as the
//     replay recorded it (it waits for the network to be quiet between steps, settle.go);
//   - within one step and virtual time, by dialog (Call-ID), then transaction (CSeq), a
//     request before its responses, a request in the order of the hops it takes (fewer
//     Via headers first), responses by status, each in the order of the hops it takes
//     back (more Via headers first): concurrent transactions do not interleave, and a
//     transaction reads as causes before effects;
//   - addresses by the name of their lane ("pool01.contoso.com", "alice"), or as addr-1,
//     addr-2... (a socket a phone opened for one request), RTP ports
//     ("m=audio 40000") as rtp-1, rtp-2... and the To tags sipgo draws at random for the
//     responses it sends on its own (a 487 to a CANCELled INVITE) as uuid-1, uuid-2...,
//     numbered in the canonical order.
//
// The ladder (Result.Messages) keeps the order the wire saw.

var (
	addrInText = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d{1,5}\b`)
	rtpPort    = regexp.MustCompile(`(?m)^(m=audio )(\d+)`)
	uuidTag    = regexp.MustCompile(`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`)
)

// Canonical returns the result's messages in the canonical order, with symbolic addresses
// and identifiers, and the function that makes any other text of the result (a step's
// detail, a failure) symbolic alike.
func Canonical(res Result) ([]Message, func(string) string) {
	type keyed struct {
		m   Message
		sip sipMsg
		ok  bool
		i   int
	}
	var ks []keyed
	seen := map[[3]string]bool{}
	for i, m := range res.Messages {
		// A retransmission is the same bytes on the same hop again: how many a replay sends
		// depends on how fast the machine answered (T1 is real time), so it is listed once.
		hop := [3]string{m.From, m.To, m.Raw}
		if seen[hop] {
			continue
		}
		seen[hop] = true
		sm, ok := parseSIP(m.Raw)
		ks = append(ks, keyed{m, sm, ok, i})
	}
	sort.SliceStable(ks, func(i, j int) bool {
		a, b := ks[i], ks[j]
		if a.m.Step != b.m.Step {
			return a.m.Step < b.m.Step
		}
		if a.m.Sim != b.m.Sim {
			return a.m.Sim < b.m.Sim
		}
		if a.ok != b.ok {
			return a.ok
		}
		if !a.ok {
			return a.i < b.i
		}
		if a.sip.callID != b.sip.callID {
			return a.sip.callID < b.sip.callID
		}
		if a.sip.cseq != b.sip.cseq {
			return a.sip.cseq < b.sip.cseq
		}
		if ra, rb := methodRank(a.sip.method), methodRank(b.sip.method); ra != rb {
			return ra < rb
		}
		if a.sip.request != b.sip.request {
			return a.sip.request
		}
		if a.sip.request {
			if a.sip.vias != b.sip.vias {
				return a.sip.vias < b.sip.vias
			}
		} else {
			if a.sip.code != b.sip.code {
				return a.sip.code < b.sip.code
			}
			if a.sip.vias != b.sip.vias {
				return a.sip.vias > b.sip.vias
			}
		}
		if a.m.From != b.m.From {
			return a.m.From < b.m.From
		}
		if a.m.To != b.m.To {
			return a.m.To < b.m.To
		}
		return a.m.Raw < b.m.Raw
	})
	names := map[string]string{}
	for _, l := range res.Lanes {
		names[l.Addr] = l.Name
	}
	sym := &symbols{names: names, addr: map[string]string{}, rtp: map[string]string{}, uuid: map[string]string{}}
	out := make([]Message, len(ks))
	for i, k := range ks {
		m := k.m
		m.At = 0
		m.From, m.To = sym.text(m.From), sym.text(m.To)
		m.Summary, m.Raw = sym.text(m.Summary), sym.text(m.Raw)
		out[i] = m
	}
	return out, sym.text
}

// methodRank orders a dialog's transactions of one CSeq number: the INVITE, its CANCEL,
// its ACK, then the others by name.
func methodRank(method string) string {
	switch method {
	case "INVITE":
		return "0"
	case "CANCEL":
		return "1"
	case "ACK":
		return "2"
	}
	return "3" + method
}

// symbols names what a replay's kernel and sipgo chose at random.
type symbols struct {
	names           map[string]string // lane address -> name
	addr, rtp, uuid map[string]string
}

func (s *symbols) text(t string) string {
	t = addrInText.ReplaceAllStringFunc(t, func(a string) string {
		if n, ok := s.names[a]; ok {
			return n
		}
		return s.number(s.addr, a, "addr")
	})
	t = rtpPort.ReplaceAllStringFunc(t, func(line string) string {
		port := strings.TrimPrefix(line, "m=audio ")
		return "m=audio " + s.number(s.rtp, port, "rtp")
	})
	return uuidTag.ReplaceAllStringFunc(t, func(u string) string { return s.number(s.uuid, strings.ToLower(u), "uuid") })
}

func (s *symbols) number(m map[string]string, v, kind string) string {
	if n, ok := m[v]; ok {
		return n
	}
	n := fmt.Sprintf("%s-%d", kind, len(m)+1)
	m[v] = n
	return n
}
