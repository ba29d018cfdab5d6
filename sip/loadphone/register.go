package loadphone

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/lync"
)

// Mode is how a registrar serves a phone, as the phone learns it.
type Mode int

// The modes.
const (
	// Offline: no registrar holds the phone's registration, as far as it knows.
	Offline Mode = iota
	// Normal: registered with every feature.
	Normal
	// Resiliency: registered, and told is-connected-to-primary="no" (Lync's presence-state).
	Resiliency
)

var modeNames = [...]string{"offline", "normal", "resiliency"}

func (m Mode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return "mode(" + strconv.Itoa(int(m)) + ")"
	}
	return modeNames[m]
}

// State is a phone's registration as the phone knows it.
type State struct {
	Registrar netip.AddrPort // zero when Offline
	Mode      Mode
}

// KeepPolicy is how phones keep themselves registered.
type KeepPolicy struct {
	// Refresh is how long at most a registered phone waits before it registers again (it
	// picks a time in the second half), and so how soon a phone on UDP notices a registrar
	// that stopped answering; 0 means 10 minutes.
	Refresh time.Duration
	// Retry is how long a phone waits after no registrar answered before it tries again,
	// doubling while none answers (up to 4 Retry); after a 503 with Retry-After it waits
	// that long instead. 0 means 2 s.
	Retry time.Duration
	// Jitter is added to every retry, uniformly in [0, Jitter), so that phones spread out
	// as real ones do; 0 means 1 s.
	Jitter time.Duration
}

func (k KeepPolicy) withDefaults() KeepPolicy {
	if k.Refresh <= 0 {
		k.Refresh = 10 * time.Minute
	}
	if k.Retry <= 0 {
		k.Retry = 2 * time.Second
	}
	if k.Jitter <= 0 {
		k.Jitter = time.Second
	}
	return k
}

// RegisterEvent is one REGISTER transaction and what came of it.
type RegisterEvent struct {
	Phone     *Phone
	Registrar netip.AddrPort
	Start     time.Time
	Took      time.Duration
	Outcome   Outcome
	Mode      Mode // on a 200: the mode the registrar said
}

// KeepRegistered registers the phone after delay, and from then on keeps it registered:
// refreshes, retries after failures, and registers again when its TCP connection drops
// or a call finds its registrar dead (Suspect).
func (ph *Phone) KeepRegistered(after time.Duration) { ph.schedule(after) }

// Suspect tells the phone its registrar did not answer a request: it registers again
// soon, unless it is registering already.
func (ph *Phone) Suspect() {
	ph.mu.Lock()
	busy := ph.registering
	ph.mu.Unlock()
	if !busy {
		ph.schedule(jitter(ph.pop.cfg.Keep.Jitter / 4))
	}
}

func (ph *Phone) schedule(after time.Duration) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if ph.stopped {
		return
	}
	if ph.timer != nil {
		ph.timer.Stop()
	}
	ph.timer = time.AfterFunc(after, ph.keep)
}

// keep runs one registration round and schedules the next.
func (ph *Phone) keep() {
	ph.mu.Lock()
	if ph.registering || ph.stopped {
		ph.mu.Unlock()
		return
	}
	ph.registering = true
	ph.mu.Unlock()
	st, out := ph.Register()
	ph.mu.Lock()
	ph.registering = false
	failures := 0
	if st.Mode == Offline && out.RetryAfter == 0 {
		ph.failures++
		failures = ph.failures
	} else {
		ph.failures = 0
	}
	ph.mu.Unlock()
	k := ph.pop.cfg.Keep
	switch {
	case st.Mode != Offline:
		// Anywhere in the second half of the interval: phones that registered together
		// (after an outage, say) do not all refresh together again.
		ph.schedule(k.Refresh - jitter(k.Refresh/2))
	case out.RetryAfter > 0:
		ph.schedule(out.RetryAfter + jitter(k.Jitter))
	default:
		ph.schedule(backoff(k.Retry, failures) + jitter(k.Jitter))
	}
}

// backoff is the wait after the n-th round in a row that no registrar answered: Retry,
// doubling each time up to 4 Retry (RFC 5626 4.5 backs off the same way, over a longer
// time), so that thousands of phones do not keep an overloaded registrar overloaded.
func backoff(retry time.Duration, n int) time.Duration {
	return retry << min(max(n-1, 0), 2)
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// Register runs one registration round: the registrar the phone is on, then the others
// in order (starting with the last that answered), following 301/302 to the pool that
// serves the user now. It returns the new state and the last outcome; after a 503, the
// outcome's RetryAfter is the longest a registrar asked for.
func (ph *Phone) Register() (State, Outcome) {
	ph.mu.Lock()
	queue := make([]netip.AddrPort, 0, len(ph.regs)+2)
	if ph.state.Mode != Offline {
		queue = append(queue, ph.state.Registrar)
	}
	for i := range ph.regs {
		queue = append(queue, ph.regs[(ph.prefer+i)%len(ph.regs)])
	}
	ph.mu.Unlock()
	var seen []netip.AddrPort
	var last Outcome
	var retry time.Duration
	for hops := 0; len(queue) > 0 && hops < 6; hops++ {
		addr := queue[0]
		queue = queue[1:]
		if contains(seen, addr) {
			continue
		}
		seen = append(seen, addr)
		out, mode, moved := ph.sendRegister(addr)
		last = out
		switch {
		case out.OK():
			st := State{Registrar: addr, Mode: mode}
			ph.mu.Lock()
			ph.preferLocked(addr)
			ph.mu.Unlock()
			ph.setState(st)
			return st, out
		case (out.Code == 301 || out.Code == 302) && moved.IsValid():
			queue = append([]netip.AddrPort{moved}, queue...)
		case out.Code == 503 && !out.NoAnswer:
			retry = max(retry, out.RetryAfter)
			ph.mu.Lock()
			ph.preferLocked(addr)
			ph.mu.Unlock()
		}
	}
	ph.setState(State{})
	last.RetryAfter = retry
	return State{}, last
}

func contains(s []netip.AddrPort, a netip.AddrPort) bool {
	for _, x := range s {
		if x == a {
			return true
		}
	}
	return false
}

// preferLocked makes addr, when it is one of the phone's registrars, the first tried next.
func (ph *Phone) preferLocked(addr netip.AddrPort) {
	for i, r := range ph.regs {
		if r == addr {
			ph.prefer = i
		}
	}
}

// uriAddr reads where a URI points when it names an IP address; load phones resolve no
// names.
func uriAddr(u gosip.Uri) (netip.AddrPort, bool) {
	ip, err := netip.ParseAddr(u.Host)
	if err != nil {
		return netip.AddrPort{}, false
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), true
}

// sendRegister sends one REGISTER to addr and waits for its final answer; moved is where
// a 301/302 points.
func (ph *Phone) sendRegister(addr netip.AddrPort) (out Outcome, mode Mode, moved netip.AddrPort) {
	pop := ph.pop
	start := time.Now()
	out, mode, moved = ph.registerAt(addr)
	if f := pop.cfg.Events.Registered; f != nil && !pop.closed.Load() {
		f(RegisterEvent{Phone: ph, Registrar: addr, Start: start, Took: time.Since(start), Outcome: out, Mode: mode})
	}
	return out, mode, moved
}

func (ph *Phone) registerAt(addr netip.AddrPort) (Outcome, Mode, netip.AddrPort) {
	pop := ph.pop
	var moved netip.AddrPort
	l, err := ph.linkTo(addr)
	if err != nil {
		return noAnswer(addr, err), Offline, moved
	}
	req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: pop.cfg.Domain})
	req.AppendHeader(&gosip.FromHeader{Address: ph.aor, Params: tagParams(newTag())})
	req.AppendHeader(&gosip.ToHeader{Address: ph.aor})
	cid := gosip.CallIDHeader(ph.regCallID)
	req.AppendHeader(&cid)
	ph.mu.Lock()
	ph.regSeq++
	seq := ph.regSeq
	ph.mu.Unlock()
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: seq, MethodName: gosip.REGISTER})
	req.AppendHeader(ph.contactHeader())
	req.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(int(pop.cfg.Expires/time.Second))))
	req.SetBody(nil)
	tx, err := pop.send(req, l, addr, "")
	if err != nil {
		return noAnswer(addr, err), Offline, moved
	}
	defer tx.end()
	res, err := tx.finalAnswer(pop.cfg.RequestTimeout, nil)
	if err != nil {
		return noAnswer(addr, err), Offline, moved
	}
	out := outcomeOf(res)
	if c := res.Contact(); c != nil && (res.StatusCode == 301 || res.StatusCode == 302) {
		moved, _ = uriAddr(c.Address)
	}
	if !out.OK() {
		return out, Offline, moved
	}
	mode := Normal
	if primary, told := lync.ConnectedToPrimary(res); told && !primary {
		mode = Resiliency
	}
	return out, mode, moved
}

// linkTo returns how the phone reaches addr: its shared UDP socket, or (on TCP) its own
// connection to addr, opened now if needed (a pool that is down refuses it at once). A
// TCP phone keeps its connection to a registrar it left: calls that pool put through on
// it still end there.
func (ph *Phone) linkTo(addr netip.AddrPort) (link, error) {
	if !ph.tcp {
		return ph.sock, nil
	}
	ph.mu.Lock()
	c := ph.conns[addr]
	ph.mu.Unlock()
	if c != nil && !c.closed.Load() {
		return c, nil
	}
	nc, err := dialTCP(ph.pop, ph, addr, ph.pop.cfg.RequestTimeout)
	if err != nil {
		return nil, err
	}
	ph.mu.Lock()
	if ph.stopped {
		ph.mu.Unlock()
		nc.close()
		return nil, errClosed
	}
	if ph.conns == nil {
		ph.conns = map[netip.AddrPort]*tcpConn{}
	}
	old := ph.conns[addr]
	ph.conns[addr] = nc
	ph.mu.Unlock()
	if old != nil {
		old.close()
	}
	return nc, nil
}

// connectionLost is a TCP phone's connection closing under it: a registration there is
// gone, so the phone registers again (the pool's outage, seen at once).
func (ph *Phone) connectionLost(t *tcpConn) {
	ph.mu.Lock()
	if ph.conns[t.remote] != t {
		ph.mu.Unlock()
		return
	}
	delete(ph.conns, t.remote)
	lost := ph.state.Mode != Offline && ph.state.Registrar == t.remote
	stopped := ph.stopped
	ph.mu.Unlock()
	if lost && !stopped {
		ph.setState(State{})
		ph.schedule(jitter(ph.pop.cfg.Keep.Jitter / 2))
	}
}

func (ph *Phone) setState(st State) {
	ph.mu.Lock()
	old := ph.state
	ph.state = st
	ph.mu.Unlock()
	if old != st {
		if f := ph.pop.cfg.Events.StateChanged; f != nil {
			f(ph, old, st)
		}
	}
}
