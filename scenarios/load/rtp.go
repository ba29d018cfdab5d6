package load

import (
	"fmt"
	"time"

	"github.com/pickupsim/pickupsim/sip/loadphone"
	"github.com/pickupsim/pickupsim/sip/media"
)

// sampledCalls are the established calls whose RTP a rehearsal measures: set up before
// the first phase and kept up through every phase to the end, half of them answered
// directly and half picked up through Group Call Pickup (SPEC section 5: "established
// calls stay connected through every phase: media keeps flowing with no loss"). RTP is
// real (20 ms G.711 packets both ways, sip/media), so each costs two sockets and 100
// packets a second: a few dozen show loss as well as thousands would, at a price a
// 2-core machine pays alongside the signalling load.
type sampledCalls struct {
	calls []*sampledCall
	// at the last snapshot: sums over every stream
	lost, received int
}

type sampledCall struct {
	kind         string // "direct" or "picked up"
	a, b         *media.Stream
	aLeg, bLeg   *loadphone.Leg
	aUser, bUser string
}

// setupSampled sets up n measured calls between registered phones.
func (rn *run) setupSampled(n int) *sampledCalls {
	sc := &sampledCalls{}
	for i := range n {
		c, err := rn.sampledCall(i%2 == 1)
		if err != nil {
			rn.res.RTP.SetupErrors = append(rn.res.RTP.SetupErrors, err.Error())
			continue
		}
		sc.calls = append(sc.calls, c)
	}
	rn.res.RTP.Calls = len(sc.calls)
	for _, c := range sc.calls {
		if c.kind == "direct" {
			rn.res.RTP.Direct++
		} else {
			rn.res.RTP.PickedUp++
		}
	}
	return sc
}

func (rn *run) sampledCall(pickup bool) (*sampledCall, error) {
	ip := rn.opts.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	caller := rn.pickRegistered(-1)
	if caller < 0 {
		return nil, fmt.Errorf("no registered phone to place a measured call")
	}
	a, err := media.Listen(ip)
	if err != nil {
		return nil, err
	}
	b, err := media.Listen(ip)
	if err != nil {
		a.Close()
		return nil, err
	}
	c := &sampledCall{kind: "direct", a: a, b: b, aUser: rn.users[caller]}
	fail := func(err error) (*sampledCall, error) {
		a.Close()
		b.Close()
		return nil, err
	}
	offer := media.Offer(a.LocalAddr(), uint64(time.Now().UnixNano()))
	id := rn.tr.callID()
	defer rn.tr.plans.Delete(id)
	if !pickup || rn.rh.Population.GroupSize < 2 {
		callee := rn.pickRegistered(caller)
		if callee < 0 {
			return fail(fmt.Errorf("no registered phone to call"))
		}
		answer, err := media.Answer(offer, b.LocalAddr(), uint64(time.Now().UnixNano()))
		if err != nil {
			return fail(err)
		}
		p := newPlan(sampledDirect, 0)
		p.answerSDP = answer
		rn.tr.plans.Store(id, p)
		leg, out := rn.phones[caller].Invite(rn.uri(rn.users[callee]), loadphone.InviteOptions{SDP: offer, CallID: id})
		if !out.OK() {
			return fail(fmt.Errorf("measured call %s -> %s: %s", rn.users[caller], rn.users[callee], out))
		}
		c.aLeg, c.bLeg, c.bUser = leg, p.callee.wait(2*time.Second), rn.users[callee]
	} else {
		callee := rn.pickGrouped(caller)
		if callee < 0 {
			return fail(fmt.Errorf("no pickup group to call"))
		}
		picker := rn.pickMember(callee, caller)
		if picker < 0 {
			return fail(fmt.Errorf("no registered member of %s's group to pick up", rn.users[callee]))
		}
		c.kind, c.bUser = "picked up", rn.users[picker]
		p := newPlan(sampledPickup, 0)
		rn.tr.plans.Store(id, p)
		giveUp := make(chan struct{})
		done := inBackground(func() (*loadphone.Leg, loadphone.Outcome) {
			return rn.phones[caller].Invite(rn.uri(rn.users[callee]), loadphone.InviteOptions{SDP: offer, CallID: id, Cancel: giveUp, Ring: 10 * time.Second})
		})
		if p.callee.wait(5*time.Second) == nil {
			r := <-done
			return fail(fmt.Errorf("measured pickup: %s's phone never rang (%s)", rn.users[callee], r.out))
		}
		number := rn.rh.Population.GroupNumber(rn.home(callee), rn.indexInPool(callee))
		pleg, pout := rn.phones[picker].Invite(rn.uri(number), loadphone.InviteOptions{SDP: media.Offer(b.LocalAddr(), uint64(time.Now().UnixNano()))})
		if !pout.OK() {
			close(giveUp)
		}
		r := <-done
		if !pout.OK() || !r.out.OK() {
			return fail(fmt.Errorf("measured pickup of %s's call by %s: picker %s, caller %s", rn.users[callee], rn.users[picker], pout, r.out))
		}
		c.aLeg, c.bLeg = r.leg, pleg
	}
	if c.bLeg == nil || !waitClosed(c.bLeg.Confirmed(), 2*time.Second) {
		return fail(fmt.Errorf("measured call %s -> %s: the other side never confirmed", c.aUser, c.bUser))
	}
	ra, err := media.ParseAudio(c.aLeg.RemoteSDP())
	if err != nil {
		return fail(err)
	}
	rb, err := media.ParseAudio(c.bLeg.RemoteSDP())
	if err != nil {
		return fail(err)
	}
	a.Start(ra.Addr)
	b.Start(rb.Addr)
	return c, nil
}

// totals sums what every measured stream received: packets lost (sequence gaps),
// received, and the longest pause.
func (sc *sampledCalls) totals() (lost, received int, maxGap time.Duration) {
	for _, c := range sc.calls {
		for _, s := range []*media.Stream{c.a, c.b} {
			for _, src := range s.Stats().Sources {
				lost += src.Lost
				received += src.Received - src.Duplicates
				maxGap = max(maxGap, src.MaxGap)
			}
		}
	}
	return
}

// snapshot closes phase idx's share of the RTP figures.
func (sc *sampledCalls) snapshot(res *Result, idx int) {
	if sc == nil || idx < 0 || len(sc.calls) == 0 {
		return
	}
	lost, received, gap := sc.totals()
	up := 0
	for _, c := range sc.calls {
		if c.aLeg.State() == loadphone.Established && c.bLeg.State() == loadphone.Established {
			up++
		}
	}
	res.Phases[idx].RTP = &PhaseRTP{Calls: len(sc.calls), Up: up, Lost: lost - sc.lost, Received: received - sc.received, MaxGap: Duration(gap)}
	sc.lost, sc.received = lost, received
}

// finish stops the media, counts what never arrived (sent minus received, which catches
// a loss at the very end that no later packet revealed as a gap), and hangs the calls up.
func (sc *sampledCalls) finish(rn *run, res *Result, last int) {
	if sc == nil || len(sc.calls) == 0 {
		return
	}
	for _, c := range sc.calls {
		c.a.Stop()
		c.b.Stop()
	}
	time.Sleep(300 * time.Millisecond)
	sent, got := 0, 0
	for _, c := range sc.calls {
		for _, pair := range [][2]*media.Stream{{c.a, c.b}, {c.b, c.a}} {
			from, to := pair[0], pair[1]
			sent += from.Stats().Sent
			if src, ok := to.Stats().Sources[from.SSRC()]; ok {
				got += src.Received - src.Duplicates
			}
		}
		if c.aLeg.State() == loadphone.Established && c.bLeg.State() == loadphone.Established {
			res.RTP.UpAtEnd++
		}
	}
	lost, _, gap := sc.totals()
	res.RTP.Sent, res.RTP.Received, res.RTP.MaxGap = sent, got, Duration(gap)
	res.RTP.Lost = max(lost, sent-got)
	if tail := res.RTP.Lost - lost; tail > 0 && res.Phases[last].RTP != nil {
		res.Phases[last].RTP.Lost += tail
	}
	for _, c := range sc.calls {
		start := time.Now()
		out := c.aLeg.Bye()
		rn.m.record(kHangup, c.aUser, start, time.Since(start), out)
		res.RTP.HangUps = append(res.RTP.HangUps, fmt.Sprintf("%s %s -> %s: %s", c.kind, c.aUser, c.bUser, out))
		c.a.Close()
		c.b.Close()
	}
}
