package sip

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/pickup"
	"github.com/pickupsim/pickupsim/sip/dialoginfo"
	"github.com/pickupsim/pickupsim/sip/ids"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
)

// Pool is one simulated Front End pool: a SIP server on UDP and TCP at one address. It
// sees the deployment it runs in only through the seam (deployment, seam.go).
type Pool struct {
	fqdn string
	dep  deployment   // all a pool asks of the deployment it runs in (seam.go)
	cfg  poolSettings // its transport settings and counters
	log  *slog.Logger
	// ids makes the pool's Call-IDs, tags, branches, nonces and SDP session ids (package
	// ids); it outlives an outage, so a recovered pool does not repeat them.
	ids       *ids.Gen
	documents documentVersions // dialog-info versions (pickup_report.go)
	// ownSends counts the requests the pool is sending of its own accord, in the
	// background (OwnSends).
	ownSends siputil.Background

	mu   sync.Mutex
	addr string   // host:port; the port is fixed at first start so recovery rebinds it
	rt   *runtime // nil while the pool is down
	// stopped is the runtime of the last outage (pool_recover.go).
	stopped *runtime
}

// runtime is what a pool holds in memory while it answers; an outage loses all of it.
type runtime struct {
	pool   *Pool
	ctx    context.Context
	cancel context.CancelFunc
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	cli    *sipgo.Client
	udp    *udpSocket // transport.go: sockets that report when they stop serving
	order  *ackOrder  // dialog_order.go: an ACK passed on before the BYE read after it
	tcp    *listener
	tls    *listener  // nil without a certificate
	laddr  gosip.Addr // the UDP listener, which forwarded requests leave from

	mu       sync.Mutex
	bindings map[string]binding      // registrations, by user
	queues   *pickup.Queues          // Group Call Pickup queues this pool's CPS holds
	ringing  map[string]*ringingCall // calls this pool rings for a pickup group (queued here or elsewhere), by Call-ID
	// heldDialogs are the ringing dialogs other pools reported to this pool's queues, by
	// Call-ID (pickup_report.go).
	heldDialogs map[string]dialoginfo.Dialog
	cps         *siputil.AnsweredDialogs // the Call Park application's legs
	bridges     map[string]*bridge       // calls the Call Park application connected, by leg Call-ID (bridge.go)
	cancelled   sync.Map                 // Via branches of forwarded INVITEs being CANCELled (proxy.go)
	accepted    *acceptedInvites         // INVITEs answered with a 2xx, for Timer L (accepted.go)
	parking     *parking                 // the Call Park application's parking lot (callpark.go)
	auth        *authenticator           // digest challenges for users with a password (auth.go)
	legSDP      sync.Map                 // Call-ID -> the SDP the Call Park application last sent on that leg (cps_session_timer.go)
	dialogs     *dialogTracker           // the dialogs of the users this pool serves (blf_dialogs.go)
	lamps       *lamps                   // busy lamp subscriptions (blf_lamps.go)
}

// FQDN returns the pool's name.
func (p *Pool) FQDN() string { return p.fqdn }

// Addr returns "host:port" where the pool listens (UDP and TCP).
func (p *Pool) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// TLSAddr returns "host:port" where the pool accepts SIP over TLS, or "" without TLS.
func (p *Pool) TLSAddr() string {
	if p.cfg.tls == nil {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	host, port, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(port)
	return net.JoinHostPort(host, strconv.Itoa(n+1))
}

// OwnSends reports how many requests the pool is sending of its own accord, in the
// background, not yet done: the BYE the Call Park application passes on to the other leg
// of a bridged call one party hung up, the parkee's when a retrieval or ring-back fails,
// a NOTIFY after a SUBSCRIBE (not the PUBLISH that tells a peer pool a ringing call
// ended: the peer may be down, and nothing waits 32 s for it). A
// replay waits for them before it moves on, so that each is recorded under the step that
// set it off.
func (p *Pool) OwnSends() int64 { return p.ownSends.Count() }

// OwnSendsIdle returns a channel closed once the pool sends nothing of its own accord
// (OwnSends is zero): a replay waits on it instead of polling.
func (p *Pool) OwnSendsIdle() <-chan struct{} { return p.ownSends.Idle() }

// sendOnOwn runs send, which sends requests of the pool's own accord, in the background,
// counted by OwnSends from now on.
func (p *Pool) sendOnOwn(send func()) { p.ownSends.Go(send) }

// Up reports whether the pool's sockets are open.
func (p *Pool) Up() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rt != nil
}

// start opens the pool's sockets and serves. The first start may pick a free port; later
// starts (recovery) rebind the same address.
func (p *Pool) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rt != nil {
		return nil
	}
	if host, _, err := net.SplitHostPort(p.addr); err != nil || net.ParseIP(host) == nil {
		return fmt.Errorf("address %q: a pool listens on an IP address and port (the simulator resolves no names)", p.addr)
	}
	p.releaseStopped() // pool_recover.go
	udpConn, tcpLn, err := listenBoth(p.addr)
	if err != nil {
		return err
	}
	p.addr = udpConn.LocalAddr().String()
	host, port, _ := net.SplitHostPort(p.addr)
	portN, _ := strconv.Atoi(port)
	order := newAckOrder()
	udp := &udpSocket{PacketConn: udpConn, serving: serving{transport: "udp", log: p.log}, order: order, hooks: p.dep.hooks}
	tcp := newListener(tcpLn, "tcp", p.cfg.maxConns, p.log)

	var tlsLn *listener
	if p.cfg.tls != nil {
		raw, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(portN+1)))
		if err != nil {
			udp.Close()
			tcp.Close()
			return fmt.Errorf("listen tls: %w", err)
		}
		tlsLn = newListener(raw, "tls", p.cfg.maxConns, p.log)
	}
	opts := []sipgo.UserAgentOption{sipgo.WithUserAgent(p.fqdn), sipgo.WithUserAgentHostname(host), quietStrays(p.log),
		siputil.NoDNS(&p.cfg.guards.dnsLookups), transportOptions(p.cfg.idle, p.log)}
	if p.cfg.tls != nil {
		opts = append(opts, sipgo.WithUserAgenTLSConfig(p.cfg.tls))
	}
	ua, err := sipgo.NewUA(opts...)
	if err != nil {
		udp.Close()
		tcp.Close()
		if tlsLn != nil {
			tlsLn.Close()
		}
		return err
	}
	srv, _ := sipgo.NewServer(ua, sipgo.WithServerLogger(p.log))
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientAddr(p.addr), sipgo.WithClientConnectionAddr(p.addr), sipgo.WithClientLogger(p.log))
	ids.Install(cli, p.ids) // Via branches from the pool's generator
	ctx, cancel := context.WithCancel(context.Background())
	rt := &runtime{
		pool: p, ctx: ctx, cancel: cancel, ua: ua, srv: srv, cli: cli, udp: udp, tcp: tcp, tls: tlsLn, order: order,
		laddr:       gosip.Addr{IP: net.ParseIP(host), Port: portN},
		bindings:    map[string]binding{},
		queues:      pickup.NewQueues(),
		ringing:     map[string]*ringingCall{},
		heldDialogs: map[string]dialoginfo.Dialog{},
		bridges:     map[string]*bridge{},
	}
	rt.cps = siputil.NewAnsweredDialogs(cli, gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "cps", Host: host, Port: portN}}, p.ids)
	rt.parking = newParking(rt)
	rt.auth = newAuthenticator(p.dep.Domain(), p.dep.Clock())
	rt.lamps = newLamps(rt)
	rt.accepted = newAcceptedInvites()
	rt.dialogs = newDialogTracker(rt)
	rt.queues.OnChange(rt.lamps.changedUnderLock)
	rt.parking.lot.OnChange(rt.lamps.changedUnderLock)
	rt.auth.ids = p.ids
	rt.routes()
	udp.registrar = &inlineRegistrar{rt: rt, parser: gosip.NewParser()}
	go func() { udp.served(srv.ServeUDP(udp)) }()
	go func() { tcp.served(srv.ServeTCP(tcp)) }()
	if tlsLn != nil {
		go func() { tlsLn.served(srv.ServeTLS(tls.NewListener(tlsLn, p.cfg.tls))) }()
	}
	if err := siputil.WaitListening(ua, p.addr); err != nil {
		rt.close()
		return err
	}
	p.rt = rt
	p.dep.listening(p, p.addr)
	p.log.Info("pool listening", "addr", p.addr)
	return nil
}

// stop closes the pool's sockets: from now on it does not answer, like a failed pool.
func (p *Pool) stop() {
	p.mu.Lock()
	rt := p.rt
	p.rt = nil
	p.mu.Unlock()
	if rt == nil {
		return
	}
	rt.close()
	p.mu.Lock()
	p.stopped = rt
	p.mu.Unlock()
	p.log.Info("pool stopped answering", "addr", p.addr)
}

// down reports whether the runtime has been closed (an outage, a shutdown). Work a pool
// had in flight then ends without a word: a pool that stopped answering must not send
// either. A late send would have sipgo bind a new socket on the pool's address and, say,
// hang up a call whose parties only learn of the outage from their session timers.
func (rt *runtime) down() bool { return rt.ctx.Err() != nil }

func (rt *runtime) close() {
	rt.cancel()
	rt.parking.shutdown() // music on hold stops with the pool, not a moment after (idempotent)
	rt.udp.Close()
	rt.tcp.Close()
	if rt.tls != nil {
		rt.tls.Close()
	}
	rt.ua.Close()
}

// runtime returns the live runtime, or nil when the pool is down.
func (p *Pool) runtime() *runtime {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rt
}

// signOut forgets users' registrations and their queued pickup calls.
func (p *Pool) signOut(users []string) {
	rt := p.runtime()
	if rt == nil {
		return
	}
	gone := map[string]bool{}
	for _, u := range users {
		gone[u] = true
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for u := range rt.bindings {
		if gone[u] {
			delete(rt.bindings, u)
		}
	}
	for _, c := range rt.queues.Drop(func(c pickup.Call) bool { return gone[c.Callee] }) {
		p.log.Info("queued call lost for group call pickup", "call", c.ID, "callee", c.Callee, "number", c.Number)
	}
}

func (p *Pool) queueLength(number string) int {
	rt := p.runtime()
	if rt == nil {
		return 0
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.queues.Len(number)
}

// routes registers the SIP handlers. sipgo's handler map has no lock: this runs before
// serving.
func (rt *runtime) routes() {
	rt.srv.OnRegister(rt.observe(rt.onRegister)) // observe: events.go, behind the input guard (sip/internal/guard)
	rt.srv.OnInvite(rt.observe(rt.onInvite))
	onAck := rt.observe(rt.onAck)
	rt.srv.OnAck(func(req *gosip.Request, tx gosip.ServerTransaction) {
		defer rt.order.handled(siputil.CallID(req))
		onAck(req, tx)
	})
	rt.srv.OnBye(rt.observe(rt.onInDialog))
	rt.srv.OnRequest(gosip.PUBLISH, rt.observe(rt.onPublish)) // pickup_report.go
	rt.srv.OnOptions(rt.observe(rt.onOptions))                // subscribe.go, with the other desk-phone requests
	rt.srv.OnSubscribe(rt.observe(rt.onSubscribe))            // message-summary and presence; 489 for the rest
	// A CANCEL matching a transaction never gets here (sipgo's transaction layer takes it).
	rt.srv.OnCancel(rt.observe(rt.onCancel))                // accepted.go: 200 after a 2xx, else 481
	rt.srv.OnRequest(gosip.NOTIFY, rt.observe(rt.onNotify)) // blf_upstream.go, then onInDialog
	for _, m := range []gosip.RequestMethod{gosip.INFO, gosip.UPDATE, gosip.REFER, gosip.MESSAGE} {
		rt.srv.OnRequest(m, rt.observe(rt.onInDialog))
	}
}

// listenBoth binds UDP and TCP on the same host:port. With port 0 it retries until a port
// free for both is found.
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 20 {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("listen udp %s: %w", addr, err)
		}
		tcp, err := net.Listen("tcp", udp.LocalAddr().String())
		if err == nil {
			sizeForStorms(udp)
			return udp, tcp, nil
		}
		udp.Close()
		lastErr = err
		if _, port, _ := net.SplitHostPort(addr); port != "0" {
			break
		}
	}
	return nil, nil, fmt.Errorf("listen tcp %s: %w", addr, lastErr)
}

// quietStrays logs responses that match no transaction (retransmissions, a 487 arriving
// after its transaction ended) at debug level: they are normal in a proxy and would
// otherwise fill the log at info level. The transaction layer's own lines go to log too.
func quietStrays(log *slog.Logger) sipgo.UserAgentOption {
	return sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(log),
		gosip.WithTransactionLayerUnhandledResponseHandler(func(r *gosip.Response) {
			log.Debug("stray response", "code", r.StatusCode, "call_id", siputil.CallID(r), "from", r.Source())
		}))
}
