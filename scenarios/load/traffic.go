package load

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/loadphone"
	"github.com/pickupsim/pickupsim/sip/lync"
)

// planKind is what a call of the traffic does.
type planKind int

const (
	plainCall     planKind = iota // the callee answers; the caller hangs up
	pickupCall                    // a colleague picks it up while it rings
	parkCall                      // the callee answers, parks the caller; someone retrieves
	sampledDirect                 // a measured call: answered at once with the callee's media
	sampledPickup                 // a measured call: picked up, never answered by the callee
)

// plan is what the traffic expects of one call, found by Call-ID by the called phone.
type plan struct {
	kind      planKind
	ring      time.Duration
	answerSDP []byte
	callee    *legOnce // the called phone's leg
	parked    *legOnce // the parkee's call to the Call Park application
}

func newPlan(k planKind, ring time.Duration) *plan {
	return &plan{kind: k, ring: ring, callee: newLegOnce(), parked: newLegOnce()}
}

// legOnce is a leg that becomes known once, from a phone's event, to a call's script.
type legOnce struct {
	mu  sync.Mutex
	leg *loadphone.Leg
	set chan struct{}
}

func newLegOnce() *legOnce { return &legOnce{set: make(chan struct{})} }

func (o *legOnce) put(l *loadphone.Leg) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.leg == nil {
		o.leg = l
		close(o.set)
	}
}

// wait returns the leg once known, or nil after d.
func (o *legOnce) wait(d time.Duration) *loadphone.Leg {
	if !waitClosed(o.set, d) {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.leg
}

// traffic places the rehearsal's calls at the configured rate and plays each one out.
type traffic struct {
	rn    *run
	plans sync.Map // Call-ID -> *plan
	seq   atomic.Uint64
	wg    sync.WaitGroup
	stop  chan struct{} // no new calls
	abort chan struct{} // calls in progress stop waiting
	// skipped counts calls not placed because no registered phone could make them.
	skipped atomic.Int64
}

func newTraffic(rn *run) *traffic {
	return &traffic{rn: rn, stop: make(chan struct{}), abort: make(chan struct{})}
}

func (t *traffic) callID() string {
	return "load-" + strconv.FormatUint(t.seq.Add(1), 10) + "-" + gosip.GenerateTagN(8)
}

// run places calls until stop, spread evenly at the configured rate.
func (t *traffic) run() {
	rate := t.rn.rh.Traffic.Calls
	if rate <= 0 {
		return
	}
	interval := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-timer.C:
		}
		t.wg.Add(1)
		go t.call()
		next = next.Add(interval)
		timer.Reset(max(time.Until(next), 0))
	}
}

// finish stops new calls and waits for those in progress, at most for grace; then they are
// told to stop waiting.
func (t *traffic) finish(grace time.Duration) {
	close(t.stop)
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		close(t.abort)
		<-done
	}
}

// sleep waits d unless the traffic is aborted.
func (t *traffic) sleep(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-t.abort:
		return false
	}
}

// call places one call of a kind drawn by the configured shares.
func (t *traffic) call() {
	defer t.wg.Done()
	tr := t.rn.rh.Traffic
	caller := t.rn.pickRegistered(-1)
	if caller < 0 {
		t.skipped.Add(1)
		return
	}
	roll := rand.Float64()
	switch {
	case roll < tr.PickedUp && t.rn.rh.Population.GroupSize > 1:
		t.pickup(caller)
	case roll < tr.PickedUp+tr.Parked:
		t.park(caller)
	default:
		t.plain(caller)
	}
}

// invite places a call and records it: set up when the callee's phone rings.
func (t *traffic) invite(caller, callee int, p *plan, id string, o loadphone.InviteOptions, rang chan<- struct{}) (*loadphone.Leg, loadphone.Outcome) {
	rn := t.rn
	t.plans.Store(id, p)
	start := time.Now()
	var ringAt time.Time
	o.CallID = id
	o.Cancel = t.abort
	if o.Ring == 0 {
		// Long enough for the callee to answer when nobody picks up (incoming), then give up.
		o.Ring = 2*p.ring + 2*time.Second + 2*rn.rh.Population.RequestTimeout
	}
	o.Ringing = func() {
		ringAt = time.Now()
		if rang != nil {
			close(rang)
		}
	}
	leg, out := rn.phones[caller].Invite(rn.uri(rn.users[callee]), o)
	if out == loadphone.NotRegistered {
		t.skipped.Add(1)
		return nil, out
	}
	setup := time.Since(start)
	if !ringAt.IsZero() {
		setup = ringAt.Sub(start)
	}
	rn.m.record(kCall, rn.users[caller], start, setup, out)
	return leg, out
}

// talk keeps a connected call up for d, then hangs it up from leg's side.
func (t *traffic) talk(leg *loadphone.Leg, d time.Duration) {
	rn := t.rn
	rn.m.callsUp.Add(1)
	t.sleep(d)
	rn.m.callsUp.Add(-1)
	t.hangup(leg)
}

func (t *traffic) hangup(leg *loadphone.Leg) {
	start := time.Now()
	out := leg.Bye()
	t.rn.m.record(kHangup, leg.Phone().User(), start, time.Since(start), out)
}

func (t *traffic) plain(caller int) {
	tr := t.rn.rh.Traffic
	callee := t.rn.pickUser(caller)
	id := t.callID()
	defer t.plans.Delete(id)
	leg, out := t.invite(caller, callee, newPlan(plainCall, tr.Ring), id, loadphone.InviteOptions{}, nil)
	if out.OK() {
		t.talk(leg, tr.Hold)
	}
}

// pickup: the callee's phone rings; after the ring time a colleague of its group dials
// the group number. If nobody can pick up, or the pickup is refused, the callee answers
// itself a little later.
func (t *traffic) pickup(caller int) {
	rn := t.rn
	tr := rn.rh.Traffic
	callee := rn.pickGrouped(caller)
	if callee < 0 {
		t.plain(caller)
		return
	}
	id := t.callID()
	defer t.plans.Delete(id)
	rang := make(chan struct{})
	done := inBackground(func() (*loadphone.Leg, loadphone.Outcome) {
		return t.invite(caller, callee, newPlan(pickupCall, tr.Ring), id, loadphone.InviteOptions{}, rang)
	})
	var a answer
	select {
	case <-rang:
		if !t.sleep(tr.Ring) {
			break
		}
		if picker := rn.pickMember(callee, caller); picker >= 0 {
			start := time.Now()
			leg, out := rn.phones[picker].Invite(rn.uri(rn.rh.Population.GroupNumber(rn.home(callee), rn.indexInPool(callee))), loadphone.InviteOptions{})
			if out != loadphone.NotRegistered {
				rn.m.record(kPickup, rn.users[picker], start, time.Since(start), out)
			}
			_ = leg // the picker's leg ends when the caller hangs up (the Call Park application passes the BYE on)
		}
		a = <-done
	case a = <-done:
	}
	if a.out.OK() {
		t.talk(a.leg, tr.Hold)
	}
}

// park: the callee answers, talks, parks the caller by a blind transfer to the Call Park
// application and hangs up; later someone dials the orbit and talks to the caller.
func (t *traffic) park(caller int) {
	rn := t.rn
	tr := rn.rh.Traffic
	callee := rn.pickUser(caller)
	id := t.callID()
	defer t.plans.Delete(id)
	p := newPlan(parkCall, tr.Ring)
	leg, out := t.invite(caller, callee, p, id, loadphone.InviteOptions{}, nil)
	if !out.OK() {
		return
	}
	parker := p.callee.wait(2 * time.Second)
	if parker == nil || !waitClosed(parker.Confirmed(), 2*time.Second) {
		t.talk(leg, tr.Hold) // the callee's side never showed up: a plain call
		return
	}
	rn.m.callsUp.Add(1)
	t.sleep(tr.Hold / 2)
	rn.m.callsUp.Add(-1)
	start := time.Now()
	park := parker.Refer("sip:"+lync.ParkUser+"@"+rn.rh.Population.Domain, 0)
	rn.m.record(kPark, parker.Phone().User(), start, time.Since(start), park)
	if !park.OK() || park.ParkOrbit == "" {
		t.talk(leg, tr.Hold/2)
		return
	}
	t.hangup(parker) // the parker hangs up, as a transferor does
	parked := p.parked.wait(2 * time.Second)
	if !t.sleep(tr.ParkedFor) {
		return
	}
	retriever := rn.pickRegistered(caller)
	if retriever < 0 {
		if parked != nil {
			t.hangup(parked)
		}
		return
	}
	start = time.Now()
	rleg, rout := rn.phones[retriever].Invite(rn.uri(park.ParkOrbit), loadphone.InviteOptions{})
	if rout != loadphone.NotRegistered {
		rn.m.record(kRetrieve, rn.users[retriever], start, time.Since(start), rout)
	}
	switch {
	case rout.OK():
		t.talk(rleg, tr.Hold/2)
	case parked != nil:
		t.hangup(parked) // nobody could retrieve it: the parkee gives up
	}
}

// incoming decides what a called phone does: by the call's plan, or, for a call nobody
// planned (a ring-back of a parked call), answer and hang up after the hold time.
func (t *traffic) incoming(in *loadphone.Incoming) {
	v, ok := t.plans.Load(in.CallID())
	if !ok {
		in.Answer(nil)
		time.AfterFunc(t.rn.rh.Traffic.Hold, func() { in.Leg.Bye() })
		return
	}
	p := v.(*plan)
	p.callee.put(in.Leg)
	switch p.kind {
	case plainCall, parkCall:
		time.AfterFunc(p.ring, func() { in.Answer(nil) })
	case pickupCall:
		time.AfterFunc(2*p.ring+2*time.Second, func() { in.Answer(nil) })
	case sampledDirect:
		in.Answer(p.answerSDP)
	case sampledPickup:
		// rings until picked up
	}
}

// transferred notes the parkee's new call once it followed the parker's REFER.
func (t *traffic) transferred(_ *loadphone.Phone, from, to *loadphone.Leg, _ loadphone.Outcome) {
	if v, ok := t.plans.Load(from.CallID()); ok && to != nil {
		v.(*plan).parked.put(to)
	}
}

// answer is how a call placed in the background ended.
type answer struct {
	leg *loadphone.Leg
	out loadphone.Outcome
}

// inBackground places a call while the caller's script goes on (to pick it up, say).
func inBackground(call func() (*loadphone.Leg, loadphone.Outcome)) <-chan answer {
	done := make(chan answer, 1)
	go func() {
		leg, out := call()
		done <- answer{leg, out}
	}()
	return done
}

func waitClosed(ch <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}
