package runner

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/ids"
	"github.com/pickupsim/pickupsim/sip/phone"
)

// Epoch is where every replay's virtual clock starts, so two replays of one scenario see
// the same times.
var Epoch = time.Date(2013, 2, 1, 9, 0, 0, 0, time.UTC)

// Options tune a replay. The zero value is fine.
type Options struct {
	// Logger receives the network's structured logs; nil discards them.
	Logger *slog.Logger
	// Settle bounds how long a step waits for SIP: a call to ring, be answered or be
	// refused, a registration, a hang-up (real time). Zero means 64*T1 (32 s), Timer B:
	// no transaction outlives it, however many retransmissions a lossy network costs. On
	// a healthy network a step returns in milliseconds.
	Settle time.Duration
	// Eventually bounds how long an expect step waits for asynchronous SIP to reach the
	// expected state before it records a failure (real time). Zero means 16*T1 (8 s):
	// time for a request lost four times in a row (retransmitted after T1, 2*T1, 4*T1
	// and 8*T1).
	Eventually time.Duration
	// NetworkLoss is the fraction of packets the network the replay runs on drops at
	// random (0.05 in a namespace that drops 5 %). A media: flowing check accepts the RTP
	// loss such a network explains; zero (loopback) accepts none.
	NetworkLoss float64
	// PcapDir is the folder the replay writes its capture to, a file named after the
	// scenario's (CaptureFile); empty writes none.
	PcapDir string
	// Seed seeds every identifier the replay's pools and phones make (Call-IDs, tags, Via
	// branches, SDP session ids, nonces, RTP SSRCs: package sip/ids). Two replays of a
	// scenario with the same seed write the same messages.
	Seed uint64
}

func (o Options) withDefaults() Options {
	if o.Settle == 0 {
		o.Settle = 64 * gosip.T1
	}
	if o.Eventually == 0 {
		o.Eventually = 16 * gosip.T1
	}
	return o
}

// RunFile loads and replays one file. A malformed file gives a failed Result whose Error
// lists every problem, file:line each; nothing runs.
func RunFile(path string, opts Options) Result {
	sc, err := scenario.LoadFile(path)
	if err != nil {
		return Result{Name: path, File: path, Error: err.Error()}
	}
	return Run(sc, opts)
}

// run is the state of one replay.
type run struct {
	sc     *scenario.Scenario
	opts   Options
	net    *sip.Network
	clock  *clock.Virtual
	fleet  *phone.Fleet // the users' phones
	phones map[string]*phone.Phone
	// outsiders are the phones from outside the enterprise, which the fleet does not
	// know of (it closes the users' phones itself).
	outsiders []*phone.Phone
	// privateLines maps a private line number to its user, whose phone it rings.
	privateLines map[string]string
	regs         map[string]registration
	calls        map[string]*namedCall
	parks        map[string]*parkRecord
	res          *Result
	step         *StepResult
	rec          *recorder
	// bg runs what outlives its step (a transfer waits for its target to answer); bgCtx
	// is cancelled and bg waited for when the replay ends.
	// timerMark is how many messages the ledger had noted when the last timer fired
	// (settleTimer).
	timerMark uint64
	bg        sync.WaitGroup
	bgCtx     context.Context
	bgStop    context.CancelFunc
}

// registration is a user's last REGISTER round.
type registration struct {
	reg phone.Registration
	err error
}

// namedCall is a call a step named with `as`: the dialling phone's leg, and the rung
// phone's leg when the call rang a user. A call named by `answer: {user, as}` has only
// the answering phone's leg, as caller (from is that phone's user).
type namedCall struct {
	from, to string
	caller   *phone.Call
	callee   *phone.Call
}

// Run replays a loaded scenario.
func Run(sc *scenario.Scenario, opts Options) Result {
	enableTracing()
	opts = opts.withDefaults()
	started := time.Now()
	res := Result{Name: sc.Name, Description: sc.Description, File: sc.File}
	vc := clock.NewVirtual(Epoch)
	seed := ids.New(opts.Seed)
	n, warnings, err := sip.Start(sip.Config{Topology: sc.Topology, Clock: vc, Logger: opts.Logger, IDs: seed})
	if err != nil {
		res.Error = fmt.Sprintf("%s: starting the network: %v", sc.File, err)
		return res
	}
	defer n.Close()
	fleet := phone.NewFleet(n)
	defer fleet.Close()
	for _, w := range warnings {
		res.Warnings = append(res.Warnings, string(w))
	}
	r := &run{sc: sc, opts: opts, net: n, clock: vc, fleet: fleet, phones: map[string]*phone.Phone{}, privateLines: map[string]string{},
		regs: map[string]registration{}, calls: map[string]*namedCall{}, parks: map[string]*parkRecord{}, res: &res,
		rec: &recorder{start: started, clock: vc, names: map[string]string{}, ids: seed}}
	r.rec.ledger = newLedger(r.alive)
	vc.SetSettle(r.settleTimer)
	if err := r.rec.openCapture(opts.PcapDir, sc, vc); err != nil {
		res.Error = fmt.Sprintf("%s: %v", sc.File, err)
		return res
	}
	defer r.rec.endCapture()
	defer r.closeOutsiders()
	r.bgCtx, r.bgStop = context.WithCancel(context.Background())
	defer r.stopBackground()
	if err := r.wire(); err != nil {
		res.Error = fmt.Sprintf("%s: %v", sc.File, err)
		return res
	}
	defer theHub.unregister(r.rec)
	for i, st := range sc.Steps {
		r.rec.setStep(i)
		r.runStep(st, started)
	}
	res.Simulated = vc.Now().Sub(Epoch)
	res.Messages = r.rec.messages()
	theHub.unregister(r.rec) // what the final check sets off is not the scenario's
	res.Warnings = append(res.Warnings, r.rec.captureProblems()...)
	r.checkNoDeadLegs()
	res.Wall = time.Since(started)
	res.Passed = len(res.Failures) == 0
	return res
}

// wire creates a phone per user and names every address for the trace.
func (r *run) wire() error {
	var addrs []string
	for _, ps := range r.net.Pools() {
		r.res.Lanes = append(r.res.Lanes, Lane{Name: ps.FQDN, Addr: ps.Address, Pool: true})
		r.rec.name(ps.Address, ps.FQDN)
		addrs = append(addrs, ps.Address)
	}
	for _, u := range r.sc.Topology.Users {
		ph, err := r.fleet.NewPhone(u.Name)
		if err != nil {
			return err
		}
		r.phones[u.Name] = ph
		r.res.Lanes = append(r.res.Lanes, Lane{Name: u.Name, Addr: ph.Addr()})
		r.rec.name(ph.Addr(), u.Name)
		addrs = append(addrs, ph.Addr())
		if u.PrivateLine != "" {
			r.privateLines[u.PrivateLine] = u.Name
		}
	}
	for _, o := range r.sc.Outsiders {
		ph, err := r.outsider(o)
		if err != nil {
			return err
		}
		r.res.Lanes = append(r.res.Lanes, Lane{Name: o.Name, Addr: ph.Addr()})
		r.rec.name(ph.Addr(), o.Name)
		addrs = append(addrs, ph.Addr())
	}
	theHub.register(r.rec, addrs...)
	return nil
}

// closeOutsiders closes the outsiders' phones (the fleet closes the users').
func (r *run) closeOutsiders() {
	for _, ph := range r.outsiders {
		ph.Close()
	}
}

// outsider starts the phone of a caller from outside the enterprise: it never registers
// and sends its calls straight to the pool it comes in through, as a gateway would.
func (r *run) outsider(o scenario.Outsider) (*phone.Phone, error) {
	p, ok := r.net.Pool(o.Via)
	if !ok {
		return nil, fmt.Errorf("outsider %s: no pool %s", o.Name, o.Via)
	}
	user, host := o.UserAndHost()
	ph, err := phone.New(phone.Config{User: user, Domain: host, Registrars: []string{p.Addr()}, IDs: r.net.IDs().Gen(o.Name),
		Clock: r.clock, RTPTimeout: r.net.PhoneSettings().RTPTimeout}) // its timers on the replay's clock, as the users' phones
	if err != nil {
		return nil, fmt.Errorf("outsider %s: %w", o.Name, err)
	}
	r.outsiders = append(r.outsiders, ph)
	r.phones[o.Name] = ph
	return ph, nil
}

// stopBackground ends what steps left running and waits for it.
func (r *run) stopBackground() {
	r.bgStop()
	r.bg.Wait()
}

// runStep runs one step and records its result.
func (r *run) runStep(st scenario.Step, started time.Time) {
	t0 := time.Now()
	r.res.Steps = append(r.res.Steps, StepResult{Line: st.Line, Kind: st.Kind, Text: st.Text,
		Start: t0.Sub(started), SimTime: r.clock.Now().Sub(Epoch)})
	r.step = &r.res.Steps[len(r.res.Steps)-1]
	event := r.event(st)
	since := r.rec.ledger.count()
	r.timerMark = since
	detail, err := r.do(st)
	r.settleAfter(st, since)
	r.step.Event = event.done(err)
	switch {
	case st.Kind == scenario.Expect:
	case st.Error != "" && err == nil:
		r.fail(st, fmt.Sprintf("an error containing %q", st.Error), "success: "+detail)
	case st.Error != "" && !contains(err.Error(), st.Error):
		r.fail(st, fmt.Sprintf("an error containing %q", st.Error), err.Error())
	case st.Error == "" && err != nil:
		r.fail(st, "success", err.Error())
	case err != nil:
		detail = "failed as expected: " + err.Error()
	}
	r.step.Detail = detail
	r.step.Elapsed = time.Since(t0)
	r.step.Passed = len(r.step.Failures) == 0
}

// alive reports whether the user agent of a lane is up: a pool not down, a phone of the
// scenario. Nothing is owed to or by another (settle.go).
func (r *run) alive(lane string) bool {
	if p, ok := r.net.Pool(lane); ok {
		return p.Up()
	}
	_, ok := r.phones[lane]
	return ok
}

// settleBound bounds a wait for the network to be quiet (settle.go). A lossy network
// retransmits for up to 32 s; the wait decides nothing, it only keeps the messages of a
// step together, so it is cut short after the first retransmissions.
const settleBound = 4 * time.Second

// settle waits until nothing is owed on the network (settle.go), after what began when
// the ledger had noted since messages; quick says that nothing but messages could have set
// anything off (settle.go's grace). On a lossy network it does not wait: a lost message is
// owed until sipgo retransmits it, T1 (500 ms of real time) or more later, and a replay
// that waited for each would take minutes; what a loss delays is recorded under the step
// it lands in (such a replay is not byte-identical to another anyway: the losses differ).
// It does wait there before the clock moves (advance).
func (r *run) settle(since uint64, quick bool) {
	if r.opts.NetworkLoss > 0 {
		return
	}
	r.awaitQuiet(since, quick, settleBound)
}

// advance moves the virtual clock on by d and returns how many timers fired. On a lossy
// network it first waits until nothing is owed (settle skips that wait there). A message lost on the wire is sent again on real time (sipgo's T1),
// while what waits for its answer also times out on the virtual clock (a pool's NOTIFY,
// notifyTimeout; a phone's request): a jump of minutes over a NOTIFY whose retransmission
// was 500 ms away ended the subscription it belonged to, which a real network, where the
// retransmission comes first, never does (busy-lamps-through-failover.yaml under loss).
//
// The wait is bounded by lossySettleBound: two retransmissions (T1 and 2*T1 later) make a
// message lost twice in a row arrive, and a replay on a lossy network cannot tell every
// loss's consequences from the wire (a request whose answer was lost and whose sender
// moved on), so it must not wait settleBound for each. After a jump has begun, the timers
// it fires are followed without waiting, as for any step on a lossy network.
func (r *run) advance(d time.Duration) int {
	if r.opts.NetworkLoss > 0 {
		r.awaitQuiet(r.rec.ledger.count(), true, lossySettleBound)
	}
	return r.clock.Advance(d)
}

// lossySettleBound bounds advance's wait on a lossy network: T1 + 2*T1, and a margin.
const lossySettleBound = 2 * time.Second

// awaitQuiet is settle's wait, bounded by bound.
func (r *run) awaitQuiet(since uint64, quick bool, bound time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for {
		silent := quick && r.rec.ledger.count() == since
		if !r.rec.ledger.settle(ctx, silent) {
			return
		}
		idle := r.sendingOnOwn()
		if idle == nil {
			return
		}
		// A user agent sends a request of its own accord (a timer ended a phone's call, a
		// bridge passes a BYE on): wait for it, then for what it owes.
		select {
		case <-ctx.Done():
			return
		case <-idle:
		}
	}
}

// settleTimer is the clock's settle (clock.Virtual.SetSettle): after each timer it fires.
// A timer that set nothing off on the wire, and no request of a user agent's own accord,
// needs no grace.
func (r *run) settleTimer() {
	r.settle(r.timerMark, true)
	r.timerMark = r.rec.ledger.count()
}

// settleAfter waits, after st, until the network is quiet: what st set off is recorded
// under it. A pool that went down or came back owes nothing, and is owed nothing. A step
// that sent nothing needs no grace, unless it changed the pools.
func (r *run) settleAfter(st scenario.Step, since uint64) {
	quick := true
	switch st.Kind {
	case scenario.Outage, scenario.Recover, scenario.RemovePool:
		r.rec.ledger.forget(st.Pool)
		quick = false
	case scenario.Expect:
	default:
		if r.event(st) != nil {
			quick = false // an administrator's step: the pools act on it
		}
	}
	r.settle(since, quick)
}

// sendingOnOwn returns, when a phone or a pool of the scenario is sending a request of its
// own accord (phone.Phone.OwnSends, sip.Pool.OwnSends), what is closed once it is done;
// nil when none is.
func (r *run) sendingOnOwn() <-chan struct{} {
	for _, ph := range r.phones {
		if ph.OwnSends() > 0 {
			return ph.OwnSendsIdle()
		}
	}
	for _, ps := range r.net.Pools() {
		if p, ok := r.net.Pool(ps.FQDN); ok && p.OwnSends() > 0 {
			return p.OwnSendsIdle()
		}
	}
	return nil
}

// fail records a failure at st.
func (r *run) fail(st scenario.Step, expected, actual string) {
	f := Failure{File: st.File, Line: st.Line, Step: string(st.Kind), Expected: expected, Actual: actual}
	r.step.Failures = append(r.step.Failures, f)
	r.res.Failures = append(r.res.Failures, f)
}

// ctx bounds one SIP exchange of a step.
func (r *run) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), r.opts.Settle)
}
