package sip

import (
	"strconv"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// A CANCEL that crosses the pool's 2xx. After a 2xx, an INVITE server transaction waits in
// the Accepted state for Timer L, 64*T1 (RFC 6026 7.1), and a CANCEL that matches it gets
// 200 OK and changes nothing (RFC 3261 9.2: "the CANCEL has no effect" once a final
// response was sent). sipgo's transaction layer answers such a CANCEL itself while its
// transaction is there; but the Call Park application ends that transaction early when
// the caller's BYE comes (sipgo's DialogServerSession.ReadBye terminates the INVITE's), and
// sipgo hands each request to a goroutine of its own, so a CANCEL the caller sent before
// its ACK and BYE may be read after them and find nothing: it got 481 in about seven
// replays of eight. The pool remembers the INVITEs it answered with a 2xx for Timer L, on
// the injected clock, and answers such a CANCEL 200 itself, with the To tag of the 2xx
// (RFC 3261 9.2: the two SHOULD be the same).

// acceptedMax bounds the INVITEs remembered: past it, the oldest is forgotten first (a
// CANCEL of it then gets 481, as from a pool that restarted).
const acceptedMax = 4096

// acceptedInvites are the INVITEs a pool answered with a 2xx, for Timer L.
type acceptedInvites struct {
	mu    sync.Mutex
	byKey map[string]acceptedInvite
	order []string // keys, oldest first
}

type acceptedInvite struct {
	at    time.Time
	toTag string
}

func newAcceptedInvites() *acceptedInvites {
	return &acceptedInvites{byKey: map[string]acceptedInvite{}}
}

// inviteTxKey is what matches a CANCEL to the INVITE it cancels (RFC 3261 9.2, 17.2.3):
// the top Via's branch and sent-by, and the Call-ID and CSeq number.
func inviteTxKey(req *gosip.Request) (string, bool) {
	via := req.Via()
	cseq := req.CSeq()
	if via == nil || cseq == nil {
		return "", false
	}
	branch, ok := via.Params.Get("branch")
	if !ok || branch == "" {
		return "", false
	}
	return branch + "\x00" + via.Host + ":" + strconv.Itoa(via.Port) + "\x00" + siputil.CallID(req) + "\x00" +
		strconv.FormatUint(uint64(cseq.SeqNo), 10), true
}

// timerL is how long an answered INVITE is remembered (RFC 6026 7.1: 64*T1).
func timerL() time.Duration { return siputil.TransactionTimeout() }

// remember notes that invite was answered with res, a 2xx, at now. A retransmitted 2xx
// changes nothing: Timer L runs from the first.
func (a *acceptedInvites) remember(invite *gosip.Request, res *gosip.Response, now time.Time) {
	key, ok := inviteTxKey(invite)
	if !ok {
		return
	}
	tag := ""
	if to := res.To(); to != nil {
		tag, _ = to.Params.Get("tag")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expireLocked(now)
	if _, seen := a.byKey[key]; seen {
		return
	}
	if len(a.order) >= acceptedMax {
		delete(a.byKey, a.order[0])
		a.order = a.order[1:]
	}
	a.byKey[key] = acceptedInvite{at: now, toTag: tag}
	a.order = append(a.order, key)
}

// accepted reports whether cancel matches an INVITE answered with a 2xx less than Timer L
// ago, and the To tag of that 2xx.
func (a *acceptedInvites) accepted(cancel *gosip.Request, now time.Time) (string, bool) {
	key, ok := inviteTxKey(cancel)
	if !ok {
		return "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expireLocked(now)
	inv, ok := a.byKey[key]
	return inv.toTag, ok
}

// expireLocked forgets the INVITEs answered Timer L or more before now.
func (a *acceptedInvites) expireLocked(now time.Time) {
	n := 0
	for n < len(a.order) && now.Sub(a.byKey[a.order[n]].at) >= timerL() {
		delete(a.byKey, a.order[n])
		n++
	}
	if n > 0 {
		a.order = append(a.order[:0:0], a.order[n:]...)
	}
}

// onCancel answers a CANCEL that matched no transaction of sipgo's (one that does never
// gets here): 200 OK if it cancels an INVITE this pool answered with a 2xx less than Timer
// L ago (the transaction would still be in its Accepted state), 481 otherwise (RFC 3261 9.2).
func (rt *runtime) onCancel(req *gosip.Request, tx gosip.ServerTransaction) {
	tag, ok := rt.accepted.accepted(req, rt.pool.dep.Clock().Now())
	if !ok {
		rt.refuse(tx, req, topology.NoSuchDialog(rt.pool.fqdn))
		return
	}
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	if to := res.To(); to != nil && tag != "" {
		to.Params.Remove("tag")
		to.Params.Add("tag", tag)
	}
	rt.log("CANCEL of an INVITE answered already: 200, no effect (RFC 3261 9.2)", req)
	sendStateless(tx, res)
}
