package load

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/scenarios/runner"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/loadphone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Options change how a rehearsal runs.
type Options struct {
	// Progress, when set, is called about once a second with the live figures.
	Progress func(Progress)
	// Logger receives the pools' logs; nil discards them.
	Logger *slog.Logger
	// IP is the loopback address pools and phones bind to; empty means 127.0.0.1.
	IP string
}

// Progress is what an administrator watches while a rehearsal runs.
type Progress struct {
	Elapsed            time.Duration
	Phase              string
	PhaseElapsed       time.Duration
	PhaseFor           time.Duration // 0 while the phones first register
	Sample             Sample
	Users, Registering int
}

// run is one rehearsal in progress.
type run struct {
	rh     *scenario.Rehearsal
	opts   Options
	net    *sip.Network
	pop    *loadphone.Population
	phones []*loadphone.Phone
	users  []string
	addrs  map[int]netip.AddrPort // pool number -> address
	pools  map[string]int         // FQDN -> pool number
	m      *metrics
	tr     *traffic
	res    *Result
	rtp    *sampledCalls
}

// Run runs a load rehearsal: it starts the pools of the generated deployment on loopback,
// registers the population, lets the traffic flow through the timeline's phases while
// their administrator actions run, and returns what it measured and whether every
// expectation held. ctx cancels it (the result then says so).
func Run(ctx context.Context, rh *scenario.Rehearsal, opts Options) *Result {
	res := newResult(rh)
	wallStart := time.Now()
	defer func() { res.Wall = Duration(time.Since(wallStart)) }()
	rn := &run{rh: rh, opts: opts, res: res, addrs: map[int]netip.AddrPort{}, pools: map[string]int{}}
	if err := rn.start(); err != nil {
		res.Error = err.Error()
		return res
	}
	defer rn.net.Close()
	defer rn.pop.Close()

	stopSampler := rn.sampler()
	rn.registerAll(ctx)
	rn.rtp = rn.setupSampled(rh.Traffic.RTPCalls)
	go rn.tr.run()
	for j, ph := range rh.Phases {
		if ctx.Err() != nil {
			break
		}
		rn.runPhase(ctx, j+1, ph)
	}
	last := len(res.Phases) - 1
	rn.rtp.snapshot(res, last)
	tr := rh.Traffic
	rn.tr.finish(3*tr.Ring + tr.Hold + tr.ParkedFor + 10*time.Second)
	rn.rtp.finish(rn, res, last)
	res.Phases[last].End = rn.m.span(time.Now())
	stopSampler()
	if ctx.Err() != nil {
		res.Error = fmt.Sprintf("stopped during phase %q: %v", res.Phases[last].Name, ctx.Err())
	}
	res.Skipped = int(rn.tr.skipped.Load())
	res.Wire = rn.pop.Stats()
	rn.pop.Close()
	rn.net.Close()
	res.build(rn.m, rh)
	return res
}

// start builds the deployment and the phones.
func (rn *run) start() error {
	p := rn.rh.Population
	topo := p.Topology()
	ip := rn.opts.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	for i := range topo.Pools {
		addr, err := portBelowEphemeral(ip)
		if err != nil {
			return err
		}
		topo.Pools[i].Address = addr
	}
	n, warnings, err := sip.Start(sip.Config{Topology: topo, Logger: rn.opts.Logger, IP: rn.opts.IP})
	if err != nil {
		return fmt.Errorf("starting the deployment: %w", err)
	}
	rn.net = n
	for _, w := range warnings {
		rn.res.Warnings = append(rn.res.Warnings, string(w))
	}
	for k := 1; k <= p.Pools; k++ {
		pool, _ := n.Pool(p.PoolFQDN(k))
		rn.addrs[k] = netip.MustParseAddrPort(pool.Addr())
		rn.pools[p.PoolFQDN(k)] = k
		rn.res.Pools = append(rn.res.Pools, PoolInfo{FQDN: p.PoolFQDN(k), Address: pool.Addr(), Backup: p.PoolFQDN(p.BackupOf(k))})
	}
	var phones []loadphone.PhoneConfig
	total := p.Users()
	tcpPhones := int(math.Round(float64(total) * p.TCP))
	for k := 1; k <= p.Pools; k++ {
		for i := range p.UsersPerPool {
			name := p.UserName(k, i)
			n := len(rn.users)
			rn.users = append(rn.users, name)
			// Spread the TCP phones evenly over the population.
			tcp := (n+1)*tcpPhones/total > n*tcpPhones/total
			if tcp {
				rn.res.TCPPhones++
			}
			phones = append(phones, loadphone.PhoneConfig{User: name, TCP: tcp,
				Registrars: []netip.AddrPort{rn.addrs[k], rn.addrs[p.BackupOf(k)]}})
		}
	}
	rn.m = newMetrics(rn.users, rn.home)
	rn.tr = newTraffic(rn)
	pop, err := loadphone.New(loadphone.Config{
		Domain: p.Domain, IP: rn.opts.IP, Sockets: p.Sockets, RequestTimeout: p.RequestTimeout,
		Expires: max(3*p.Refresh, time.Minute),
		Keep:    loadphone.KeepPolicy{Refresh: p.Refresh, Retry: p.Retry, Jitter: p.Jitter},
		Events: loadphone.Events{
			Registered:   rn.registered,
			StateChanged: func(_ *loadphone.Phone, from, to loadphone.State) { rn.m.stateChanged(from.Mode, to.Mode) },
			Incoming:     rn.tr.incoming,
			Transferred:  rn.tr.transferred,
		},
	}, phones)
	if err != nil {
		n.Close()
		return err
	}
	rn.pop = pop
	rn.phones = pop.Phones()
	rn.res.Users = len(rn.users)
	return nil
}

func (rn *run) registered(e loadphone.RegisterEvent) {
	rn.m.registersSent.Add(1)
	user := e.Phone.User()
	rn.m.record(kRegister, user, e.Start, e.Took, e.Outcome)
	if e.Outcome.OK() {
		rn.m.registered(user, e.Registrar.String(), e.Mode, e.Start.Add(e.Took))
	}
}

// registerAll starts every phone registering, spread at the population's register rate,
// and waits until all are registered (phase 0 of the results) or the ramp's time and a
// margin ran out.
func (rn *run) registerAll(ctx context.Context) {
	p := rn.rh.Population
	now := time.Now()
	rn.res.Phases = append(rn.res.Phases, PhaseResult{Name: "registration", Start: rn.m.span(now)})
	rn.m.enter(0, "registration", now, 0)
	ramp := time.Duration(float64(len(rn.phones)) / p.RegisterRate * float64(time.Second))
	for i, ph := range rn.phones {
		ph.KeepRegistered(time.Duration(float64(i) / p.RegisterRate * float64(time.Second)))
	}
	deadline := time.Now().Add(ramp + 30*time.Second)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if rn.m.offline.Load() == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	rn.res.Phases[0].End = rn.m.span(time.Now())
}

// runPhase runs phase number idx: its actions, then its traffic for its duration.
func (rn *run) runPhase(ctx context.Context, idx int, ph scenario.Phase) {
	last := len(rn.res.Phases) - 1
	rn.rtp.snapshot(rn.res, last)
	now := time.Now()
	rn.res.Phases[last].End = rn.m.span(now)
	rn.res.Phases = append(rn.res.Phases, PhaseResult{Name: ph.Name, Line: ph.Line, Start: rn.m.span(now), For: Duration(ph.For)})
	pr := &rn.res.Phases[idx]
	// The actions change the deployment as they begin (the pools' state first, then their
	// sockets): what ends from now on counts in the new phase.
	rn.m.enter(idx, ph.Name, now, ph.For)
	for _, st := range ph.Do {
		before := rn.poolPhase(st.Pool)
		at := time.Now()
		detail, err := runner.Admin(rn.net, st)
		a := ActionResult{Line: st.Line, Text: st.Text, Detail: detail, At: rn.m.span(at)}
		if err != nil {
			a.Error = err.Error()
			rn.res.Failures = append(rn.res.Failures, fmt.Sprintf("%s:%d: %s: %v", rn.rh.File, st.Line, st.Text, err))
		} else {
			rn.trackAction(idx, st, before, at)
		}
		pr.Actions = append(pr.Actions, a)
	}
	timer := time.NewTimer(time.Until(now.Add(ph.For)))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

func (rn *run) poolPhase(fqdn string) topology.Phase {
	for _, p := range rn.net.Pools() {
		if p.FQDN == fqdn {
			return p.Phase
		}
	}
	return topology.Normal
}

// trackAction starts following the users an action moves: where the deployment serves
// them now, in which mode, and from when that is possible.
func (rn *run) trackAction(idx int, st scenario.Step, before topology.Phase, at time.Time) {
	p := rn.rh.Population
	k, ok := rn.pools[st.Pool]
	if !ok {
		return
	}
	b := p.BackupOf(k)
	name := func(n int) string { return p.PoolFQDN(n) }
	t := &tracker{phase: idx, pool: k, ref: rn.m.since(at), first: (k - 1) * p.UsersPerPool}
	home := map[string]int{rn.addrs[k].String(): k}
	backup := map[string]int{rn.addrs[b].String(): b}
	switch st.Kind {
	case scenario.Outage:
		if before != topology.Normal {
			return // an outage after failover: its users are served by the backup already
		}
		t.want, t.ref = backup, t.ref+p.RegistrarFailoverTimer
		t.what = fmt.Sprintf("users of %s registered on %s's backup registrar after the registrar failover timer (%s) ran out", name(k), name(b), p.RegistrarFailoverTimer)
	case scenario.Recover:
		if rn.poolPhase(st.Pool) != topology.Normal {
			return
		}
		t.want, t.what = home, fmt.Sprintf("users of %s registered on it again after it recovered", name(k))
	case scenario.FailOverComplete:
		t.want, t.wantMode = backup, loadphone.Normal
		t.what = fmt.Sprintf("users of %s out of resiliency mode on %s after failover completed", name(k), name(b))
	case scenario.FailBack:
		t.want = home
		t.what = fmt.Sprintf("users of %s registered on %s again (resiliency mode) after Invoke-CsPoolFailBack", name(k), name(k))
	case scenario.FailBackComplete:
		t.want, t.wantMode = home, loadphone.Normal
		t.what = fmt.Sprintf("users of %s out of resiliency mode on %s after failback completed", name(k), name(k))
	default:
		return
	}
	rn.m.track(t, p.UsersPerPool)
}

// sampler takes the per-second series and reports progress until stopped.
func (rn *run) sampler() (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				s := rn.m.sample(now)
				if rn.opts.Progress != nil {
					rn.opts.Progress(rn.progress(s, now))
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

func (rn *run) progress(s Sample, now time.Time) Progress {
	pr := Progress{Elapsed: rn.m.since(now), Sample: s, Users: len(rn.users)}
	rn.m.curMu.Lock()
	pr.Phase, pr.PhaseElapsed, pr.PhaseFor = rn.m.cur.name, now.Sub(rn.m.cur.start), rn.m.cur.length
	rn.m.curMu.Unlock()
	return pr
}

// home returns the pool number of user i.
func (rn *run) home(i int) int { return i/rn.rh.Population.UsersPerPool + 1 }

func (rn *run) indexInPool(i int) int { return i % rn.rh.Population.UsersPerPool }

func (rn *run) uri(user string) gosip.Uri {
	return gosip.Uri{Scheme: "sip", User: user, Host: rn.rh.Population.Domain}
}

// pickRegistered draws a phone that believes it is registered, other than not; -1 when a
// few draws find none.
func (rn *run) pickRegistered(not int) int {
	for range 32 {
		i := rand.IntN(len(rn.phones))
		if i != not && rn.phones[i].State().Mode != loadphone.Offline {
			return i
		}
	}
	return -1
}

// pickUser draws any user but not (the caller does not know who is registered).
func (rn *run) pickUser(not int) int {
	for {
		if i := rand.IntN(len(rn.phones)); i != not {
			return i
		}
	}
}

// pickGrouped draws a callee in a pickup group that has another member, other than not.
func (rn *run) pickGrouped(not int) int {
	p := rn.rh.Population
	for range 32 {
		i := rn.pickUser(not)
		j := rn.indexInPool(i)
		g := j / p.GroupSize
		if members := min(p.UsersPerPool, (g+1)*p.GroupSize) - g*p.GroupSize; members > 1 {
			return i
		}
	}
	return -1
}

// pickMember draws a registered member of callee's pickup group other than callee and
// caller; -1 when none is registered.
func (rn *run) pickMember(callee, caller int) int {
	p := rn.rh.Population
	j := rn.indexInPool(callee)
	first := callee - j + (j/p.GroupSize)*p.GroupSize
	last := min(callee-j+p.UsersPerPool, first+p.GroupSize)
	n := last - first
	off := rand.IntN(n)
	for d := range n {
		i := first + (off+d)%n
		if i != callee && i != caller && rn.phones[i].State().Mode != loadphone.Offline {
			return i
		}
	}
	return -1
}

// portBelowEphemeral finds an address on ip, free for UDP and TCP, whose port is below the
// kernel's ephemeral range (32768 and up on Linux). A pool that recovers after an outage
// binds its address again; on a port from the ephemeral range, a socket opened meanwhile
// (music on hold, a phone's connection) may hold it, and the recovery fails with "address
// already in use". Nothing takes a port below the range unless asked for it.
func portBelowEphemeral(ip string) (string, error) {
	for range 200 {
		addr := net.JoinHostPort(ip, strconv.Itoa(20000+rand.IntN(12000)))
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			continue
		}
		t, err := net.Listen("tcp", addr)
		u.Close()
		if err != nil {
			continue
		}
		t.Close()
		return addr, nil
	}
	return "", fmt.Errorf("no port free for both UDP and TCP on %s between 20000 and 32000", ip)
}

// HostInfo describes the machine a rehearsal ran on.
func hostInfo() Host {
	return Host{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), LoadAverage: loadAverage()}
}
