package runner

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// When is the network of a replay quiet? A step's action returns when the phone that acted
// sees its result (a call rings, a registration is answered), but what it set off goes on
// for a moment: the ACK of a 2xx, the PRACK of a reliable 180, the CANCEL of a picked-up
// call's ringing branch and its 487. A replay waits for that before the next step, and an
// advance of the clock does after each timer it fires, so that every message is recorded
// under the step (and at the virtual time) that caused it, and a check sees the world the
// step left, whatever the machine's load. No real time decides it: the ledger follows the
// messages on the wire and knows, from RFC 3261, what each still owes.
//
// A message is owed, between two user agents that are both up, when:
//   - a request (other than ACK) has no final response; an INVITE that rings (a 180 or 183)
//     owes nothing more until it is answered, cancelled or refused, since that waits for a
//     user, unless the proxy that sent it has answered its caller (RFC 3261 16.7 step 10: its
//     branches are then CANCELled) or it was CANCELled;
//   - a reliable provisional response has no PRACK (RFC 3262);
//   - a 2xx to an INVITE has no ACK (RFC 3261 13.2.2.4), nor a final non-2xx one on its hop
//     (17.1.1.3).
//
// What a user agent sends on its own, later, must be sent before the transaction that set
// it off is answered (siputil.StartSending): a BYE a timer sends is out before the timer's
// callback returns.

// ledger is what the replay's SIP owes.
type ledger struct {
	mu sync.Mutex
	// alive reports whether an address's user agent is up (a pool not down, a phone not
	// closed): nothing is owed to or by a dead one.
	alive    func(addr string) bool
	requests map[hopKey]*openRequest
	reliable map[string]hop      // Call-ID, RSeq, CSeq -> the reliable provisional's hop
	acks     map[string][]hop    // Call-ID, CSeq -> the 2xx (to an INVITE) not acknowledged yet
	nacks    map[hopKey]hop      // non-2xx final responses to an INVITE, by the INVITE's hop key
	answered map[string]struct{} // sender, Call-ID, CSeq: a user agent answered an INVITE finally
	// finished are the client transactions that had a final response: a retransmission of
	// their request (its sender had not got the response yet: the response was lost, or
	// crossed it) owes nothing more, since the answer to it is a retransmission too, which
	// a transaction layer may send or absorb (RFC 3261 17.2.1, 17.2.2).
	finished map[hopKey]struct{}
	quiet    chan struct{} // closed when nothing is owed; replaced when something is
	last     time.Time     // when the last message was noted (real time)
	noted    uint64        // messages noted so far
}

// hop is a message's sender and receiver.
type hop struct{ from, to string }

// hopKey is a client transaction on one hop: its sender, its branch and its method.
type hopKey struct{ from, branch, method string }

type openRequest struct {
	hop
	callID    string
	cseq      uint32
	invite    bool
	ringing   bool // a provisional response above 100 came
	cancelled bool // a CANCEL for it was sent
}

func newLedger(alive func(string) bool) *ledger {
	l := &ledger{alive: alive, requests: map[hopKey]*openRequest{}, reliable: map[string]hop{},
		acks: map[string][]hop{}, nacks: map[hopKey]hop{}, answered: map[string]struct{}{}, finished: map[hopKey]struct{}{},
		quiet: make(chan struct{})}
	close(l.quiet)
	return l
}

func dialogKey(callID string, cseq uint32, more ...string) string {
	k := callID + "\x00" + strconv.FormatUint(uint64(cseq), 10)
	for _, m := range more {
		k += "\x00" + m
	}
	return k
}

// note takes one message from -> to, a first sighting or a retransmission.
func (l *ledger) note(from, to string, m sipMsg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = time.Now()
	l.noted++
	switch {
	case m.request && m.method == "ACK":
		delete(l.acks, dialogKey(m.callID, m.cseq))
		delete(l.nacks, hopKey{from, m.branch, "INVITE"})
	case m.request && m.method == "PRACK":
		l.requests[hopKey{from, m.branch, m.method}] = &openRequest{hop: hop{from, to}, callID: m.callID, cseq: m.cseq}
		delete(l.reliable, dialogKey(m.callID, 0, m.rack))
	case m.request:
		if _, done := l.finished[hopKey{from, m.branch, m.method}]; done {
			break // a retransmission of a request already answered
		}
		l.requests[hopKey{from, m.branch, m.method}] = &openRequest{hop: hop{from, to}, callID: m.callID, cseq: m.cseq, invite: m.invite()}
		if m.method == "CANCEL" {
			if inv := l.requests[hopKey{from, m.branch, "INVITE"}]; inv != nil {
				inv.cancelled = true
			}
		}
	default:
		k := hopKey{to, m.branch, m.method}
		req := l.requests[k]
		if m.rseq != "" {
			l.reliable[dialogKey(m.callID, 0, m.rseq+" "+strconv.FormatUint(uint64(m.cseq), 10)+" "+m.method)] = hop{from, to}
		}
		if m.code >= 200 {
			l.finished[k] = struct{}{}
		}
		switch {
		case m.code < 200:
			if req != nil && m.code > 100 {
				req.ringing = true
			}
		case m.invite() && m.code < 300:
			delete(l.requests, k)
			l.acks[dialogKey(m.callID, m.cseq)] = append(l.acks[dialogKey(m.callID, m.cseq)], hop{from, to})
			l.answered[dialogKey(m.callID, m.cseq, from)] = struct{}{}
		case m.invite():
			delete(l.requests, k)
			l.nacks[k] = hop{from, to}
			l.answered[dialogKey(m.callID, m.cseq, from)] = struct{}{}
		default:
			delete(l.requests, k)
		}
	}
	l.recheckLocked()
}

// forget drops what is owed to or by the user agent named ua: it went down (what it
// owed dies with it), or came back up (it knows nothing of what it was sent before).
func (l *ledger) forget(ua string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	involves := func(h hop) bool { return h.from == ua || h.to == ua }
	for k, r := range l.requests {
		if involves(r.hop) {
			delete(l.requests, k)
		}
	}
	for k, h := range l.reliable {
		if involves(h) {
			delete(l.reliable, k)
		}
	}
	for k, hs := range l.acks {
		kept := hs[:0]
		for _, h := range hs {
			if !involves(h) {
				kept = append(kept, h)
			}
		}
		if len(kept) == 0 {
			delete(l.acks, k)
		} else {
			l.acks[k] = kept
		}
	}
	for k, h := range l.nacks {
		if involves(h) {
			delete(l.nacks, k)
		}
	}
	l.recheckLocked()
}

func (l *ledger) recheckLocked() {
	owed := l.owedLocked()
	select {
	case <-l.quiet:
		if owed {
			l.quiet = make(chan struct{})
		}
	default:
		if !owed {
			close(l.quiet)
		}
	}
}

// owedLocked reports whether anything is owed between live user agents.
func (l *ledger) owedLocked() bool {
	live := func(h hop) bool { return l.alive(h.from) && l.alive(h.to) }
	for _, r := range l.requests {
		if !live(r.hop) {
			continue
		}
		if !r.invite || !r.ringing || r.cancelled {
			return true
		}
		// A proxy that has answered its caller cancels the branches still ringing.
		if _, ok := l.answered[dialogKey(r.callID, r.cseq, r.from)]; ok {
			return true
		}
	}
	for _, h := range l.reliable {
		if live(h) {
			return true
		}
	}
	for _, hs := range l.acks {
		for _, h := range hs {
			if live(h) {
				return true
			}
		}
	}
	for _, h := range l.nacks {
		if live(h) {
			return true
		}
	}
	return false
}

// grace is how long the network must have carried no message, besides owing none, to be
// quiet, after a step or timer that sent messages or changed the pools. What a user agent
// sends of its own accord is counted where it can be (phone.Phone.OwnSends,
// sip.Pool.OwnSends); anything else (a 500 from a pool that stops as it answers) comes from
// a goroutine the ledger cannot see start, on the wire within microseconds on an idle
// machine, a few milliseconds on a loaded one.
const grace = 5 * time.Millisecond

// count returns how many messages have been noted so far.
func (l *ledger) count() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.noted
}

// settle waits until nothing is owed and, unless quick, nothing was sent for grace, or
// ctx ends (a network that lost a message keeps retransmitting it: the wait is bounded,
// it decides nothing). It reports whether the network was quiet. quick is for a step that
// sent nothing and changed no pool: nothing of its own can still be on its way.
func (l *ledger) settle(ctx context.Context, quick bool) bool {
	for {
		l.mu.Lock()
		l.recheckLocked()
		quiet, last := l.quiet, l.last
		l.mu.Unlock()
		select {
		case <-quiet:
		case <-ctx.Done():
			return false
		}
		wait := grace - time.Since(last)
		if quick || wait <= 0 {
			return true
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return false
		}
	}
}
