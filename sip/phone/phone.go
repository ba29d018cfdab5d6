package phone

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/ids"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/media"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// DefaultRTPTimeout is how long an established call may hear no RTP before the phone
// hangs it up, as desk phones do (a "media inactivity" or "RTP timeout" setting).
const DefaultRTPTimeout = 30 * time.Second

// Config describes a simulated phone.
type Config struct {
	User   string
	Domain string
	// Registrars are tried in order: the home pool, then its backup registrar.
	Registrars []string
	// IP is the address the phone binds its SIP and RTP sockets to.
	IP string
	// Clock runs the phone's timers (RTP inactivity, session refresh); nil is the wall clock.
	Clock clock.Clock
	// RTPTimeout ends an established call that hears no RTP for this long; zero means
	// DefaultRTPTimeout. Held calls (sendonly, recvonly or inactive) are exempt.
	RTPTimeout time.Duration
	// AutoAnswer answers every incoming call as soon as it rings.
	AutoAnswer bool
	// Password answers digest challenges (401/407) when the topology gives the user one.
	Password string

	// DNSLookups counts the name lookups the phone attempts (each refused, siputil.NoDNS);
	// nil: nowhere.
	DNSLookups *atomic.Uint64
	// IDs makes the phone's Call-IDs, tags, branches, SDP session ids and RTP identifiers
	// (package ids): a replay's seeded generator; nil draws them at random.
	IDs *ids.Gen
}

// Phone is a simulated SIP phone: a real user agent on its own UDP socket.
type Phone struct {
	user     string
	password string
	domain   string
	regs     []string
	ip       string
	clock    clock.Clock
	rtpLimit time.Duration
	ids      *ids.Gen

	ua   *sipgo.UserAgent
	srv  *sipgo.Server
	cli  *sipgo.Client
	conn net.PacketConn
	addr string
	dsrv *siputil.AnsweredDialogs
	dcli *sipgo.DialogClientCache

	regCallID string
	regSeq    uint32

	mu         sync.Mutex
	autoAnswer bool
	registrar  string // address of the pool that accepted the last REGISTER
	mode       topology.Mode
	calls      map[string]*Call // by Call-ID
	order      []*Call
	incoming   chan *Call
	closed     bool
	// transfers holds, per Call-ID, the channel a Park waits on for NOTIFYs (park.go).
	transfers   sync.Map
	transfersMu sync.Mutex    // orders news of a transfer with its end (park.go)
	panics      atomic.Uint64 // handler panics the guard recovered (guard.go)
	// ownSends counts the requests the phone is sending of its own accord, in the
	// background (the BYE of a call a timer ended): OwnSends.
	ownSends siputil.Background
	// acks holds the re-INVITE 2xx the phone retransmits until their ACK (reinvite_ack.go).
	acks sync.Map
	blf  blfState // busy lamp keys (blf.go)
}

// ErrNotRegistered is returned when no registrar accepted the phone.
var ErrNotRegistered = errors.New("no registrar accepted the registration")

// New starts a phone on its own socket. It does not register.
func New(cfg Config) (*Phone, error) {
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.RTPTimeout == 0 {
		cfg.RTPTimeout = DefaultRTPTimeout
	}
	conn, err := net.ListenPacket("udp", net.JoinHostPort(cfg.IP, "0"))
	if err != nil {
		return nil, fmt.Errorf("phone %s: %w", cfg.User, err)
	}
	addr := conn.LocalAddr().String()
	host, port, _ := net.SplitHostPort(addr)
	pn, _ := strconv.Atoi(port)
	var ph *Phone // the stray-response handler needs it; no response arrives before it is set
	strays := func(res *gosip.Response) { ph.onStray(res) }
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(cfg.User), sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerUnhandledResponseHandler(strays)),
		siputil.NoDNS(cfg.DNSLookups))
	if err != nil {
		conn.Close()
		return nil, err
	}
	srv, _ := sipgo.NewServer(ua)
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientAddr(addr), sipgo.WithClientConnectionAddr(addr))
	ids.Install(cli, cfg.IDs) // Via branches from the phone's generator
	contact := gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: cfg.User, Host: host, Port: pn}}
	ph = &Phone{
		user: cfg.User, password: cfg.Password, domain: cfg.Domain, regs: cfg.Registrars, ip: cfg.IP,
		clock: cfg.Clock, rtpLimit: cfg.RTPTimeout, ids: cfg.IDs,
		ua: ua, srv: srv, cli: cli, conn: conn, addr: addr,
		dsrv:       siputil.NewAnsweredDialogs(cli, contact, cfg.IDs),
		dcli:       sipgo.NewDialogClientCache(cli, contact),
		regCallID:  fmt.Sprintf("reg-%s-%s", cfg.User, cfg.IDs.CallID("register")),
		autoAnswer: cfg.AutoAnswer,
		calls:      map[string]*Call{},
		incoming:   make(chan *Call, 64),
	}
	// guarded: guard.go
	srv.OnInvite(ph.guarded(ph.onInvite))
	srv.OnAck(ph.guarded(ph.onAck)) // reinvite_ack.go
	srv.OnBye(ph.guarded(ph.onBye))
	srv.OnRefer(ph.guarded(ph.onRefer))     // Call Park: blind transfer (park.go)
	srv.OnNotify(ph.guarded(ph.onNotify))   // Call Park: transfer progress (park.go)
	srv.OnPrack(ph.guarded(ph.onPrack))     // reliable ringing (prack.go)
	srv.OnUpdate(ph.guarded(ph.onUpdate))   // session refresh (call_session_timer.go)
	srv.OnOptions(ph.guarded(ph.onOptions)) // keep-alives, and pools' dialog probes (blf.go)
	go srv.ServeUDP(conn)
	if err := siputil.WaitListening(ua, addr); err != nil {
		ph.Close()
		return nil, err
	}
	return ph, nil
}

// User returns the phone's user name.
func (ph *Phone) User() string { return ph.user }

// Domain returns the SIP domain the phone's user belongs to.
func (ph *Phone) Domain() string { return ph.domain }

// SignInAs makes the phone a shared device signed in as user (hot desking): its next
// requests are user's. Call it only while the phone has no calls; benchmarks use one
// device for many users.
func (ph *Phone) SignInAs(user string) { ph.user = user }

// Send sends a hand-crafted request from the phone's own SIP socket and returns the final
// answer: how tests show what pools make of a request no phone would write.
func (ph *Phone) Send(ctx context.Context, req *gosip.Request) (*gosip.Response, error) {
	return ph.cli.Do(ctx, req)
}

// Addr returns the phone's SIP address ("ip:port").
func (ph *Phone) Addr() string { return ph.addr }

// SetAutoAnswer makes the phone answer incoming calls itself.
func (ph *Phone) SetAutoAnswer(on bool) {
	ph.mu.Lock()
	ph.autoAnswer = on
	ph.mu.Unlock()
}

// Close hangs nothing up: it closes the phone's sockets, like pulling its cable.
func (ph *Phone) Close() {
	ph.mu.Lock()
	if ph.closed {
		ph.mu.Unlock()
		return
	}
	ph.closed = true
	calls := ph.order
	ph.mu.Unlock()
	for _, c := range calls {
		c.stopTimers()
		c.Media.Close()
	}
	ph.conn.Close()
	ph.ua.Close()
}

// Registration is the result of a REGISTER round.
type Registration struct {
	// Registrar is the address of the pool that accepted the phone ("" if none did).
	Registrar string
	// Mode is read off the presence-state header: resiliency when is-connected-to-primary="no".
	Mode topology.Mode
	// Outcome is the last final response heard (408 when a registrar never answered).
	Outcome lync.Outcome
	// Tried lists the registrars tried, in order.
	Tried []string
}

// Register registers with the home pool, falling back to the backup registrar when the
// home pool does not answer or refuses, and following a 301 to the pool that serves the
// user now.
func (ph *Phone) Register(ctx context.Context) (Registration, error) {
	return ph.register(ctx, 3600)
}

// Unregister removes the phone's registration from its registrar.
func (ph *Phone) Unregister(ctx context.Context) error {
	_, err := ph.register(ctx, 0)
	return err
}

func (ph *Phone) register(ctx context.Context, expires int) (Registration, error) {
	var reg Registration
	queue := append([]string(nil), ph.regs...)
	ph.mu.Lock()
	if expires == 0 && ph.registrar != "" {
		queue = []string{ph.registrar}
	}
	ph.mu.Unlock()
	seen := map[string]bool{}
	for len(queue) > 0 {
		addr := queue[0]
		queue = queue[1:]
		if seen[addr] {
			continue
		}
		seen[addr] = true
		reg.Tried = append(reg.Tried, addr)
		res, err := ph.sendRegister(ctx, addr, expires)
		switch {
		case errors.Is(err, ErrUnreachable):
			reg.Outcome = unreachableOutcome(err)
			continue
		case err != nil:
			reg.Outcome = lync.Outcome{Code: 408, Reason: "Request Timeout", Warning: fmt.Sprintf("%s did not answer: %v", addr, err)}
			continue
		}
		reg.Outcome = lync.OutcomeOf(res)
		switch {
		case res.StatusCode == 200:
			reg.Registrar = addr
			reg.Mode = topology.NormalMode
			if connected, ok := lync.ConnectedToPrimary(res); ok && !connected {
				reg.Mode = topology.Resiliency
			}
			ph.mu.Lock()
			if expires == 0 {
				ph.registrar, ph.mode = "", topology.Offline
			} else {
				ph.registrar, ph.mode = addr, reg.Mode
			}
			ph.mu.Unlock()
			if expires != 0 {
				ph.registeredOn(addr) // busy lamp keys follow the phone to its registrar (blf.go)
			}
			return reg, nil
		case res.StatusCode == 301 || res.StatusCode == 302:
			if c := res.Contact(); c != nil {
				queue = append([]string{c.Address.HostPort()}, queue...)
			}
		}
	}
	ph.mu.Lock()
	ph.registrar, ph.mode = "", topology.Offline
	ph.mu.Unlock()
	ph.registeredOn("")
	return reg, fmt.Errorf("%s: %w (tried %v; last answer %s)", ph.user, ErrNotRegistered, reg.Tried, reg.Outcome)
}

func (ph *Phone) sendRegister(ctx context.Context, addr string, expires int) (*gosip.Response, error) {
	host, port, _ := net.SplitHostPort(ph.addr)
	pn, _ := strconv.Atoi(port)
	aor := gosip.Uri{Scheme: "sip", User: ph.user, Host: ph.domain}
	req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: ph.domain})
	req.AppendHeader(&gosip.FromHeader{Address: aor, Params: gosip.HeaderParams{{K: "tag", V: ph.ids.Tag("register")}}})
	req.AppendHeader(&gosip.ToHeader{Address: aor})
	req.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: ph.user, Host: host, Port: pn}})
	cid := gosip.CallIDHeader(ph.regCallID)
	req.AppendHeader(&cid)
	ph.mu.Lock()
	ph.regSeq++
	seq := ph.regSeq
	ph.mu.Unlock()
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: seq, MethodName: gosip.REGISTER})
	req.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(expires)))
	req.AppendHeader(gosip.NewHeader("Supported", "ms-userservices-state-notification"))
	req.SetDestination(addr)
	// RFC 3261's retransmissions carry the REGISTER through a lossy network; a dead pool
	// is learnt from the network at once (reach.go), not from Timer F.
	res, err := ph.do(ctx, addr, func(ctx context.Context) (*gosip.Response, error) {
		res, err := siputil.FinalOrError(ph.cli.Do(ctx, req))
		if err == nil && res.StatusCode == 401 && ph.password != "" {
			return siputil.FinalOrError(ph.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: ph.user, Password: ph.password}))
		}
		return res, err
	})
	ph.mu.Lock()
	ph.regSeq = max(ph.regSeq, req.CSeq().SeqNo) // sipgo's digest retry sent CSeq+1: count from there
	ph.mu.Unlock()
	return res, err
}

// SetRegistrars changes the registrars the phone tries, in order.
func (ph *Phone) SetRegistrars(addrs []string) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	ph.regs = append([]string(nil), addrs...)
}

// Registrar returns the address of the pool the phone is registered on, and its mode.
func (ph *Phone) Registrar() (string, topology.Mode) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return ph.registrar, ph.mode
}

// Calls returns the phone's calls, oldest first.
func (ph *Phone) Calls() []*Call {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return append([]*Call(nil), ph.order...)
}

// NextIncoming waits for the next call to ring the phone.
func (ph *Phone) NextIncoming(ctx context.Context) (*Call, error) {
	select {
	case c := <-ph.incoming:
		return c, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: no incoming call: %w", ph.user, ctx.Err())
	}
}

func (ph *Phone) track(c *Call) {
	ph.mu.Lock()
	ph.calls[c.ID] = c
	ph.order = append(ph.order, c)
	ph.mu.Unlock()
}

func (ph *Phone) call(id string) *Call {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return ph.calls[id]
}

// OutboundProxy is where the phone sends new requests: its registrar, or its home pool
// when it is not registered.
func (ph *Phone) OutboundProxy() string {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if ph.registrar != "" {
		return ph.registrar
	}
	if len(ph.regs) > 0 {
		return ph.regs[0]
	}
	return ""
}

// OwnSends reports how many requests the phone is sending of its own accord, in the
// background, not yet done (answered, refused or given up): the BYE of a call its RTP or
// session timer ended. A replay waits for them before it moves on, so that their
// messages are recorded under the step (and at the virtual time) that set them off.
func (ph *Phone) OwnSends() int64 { return ph.ownSends.Count() }

// OwnSendsIdle returns a channel closed once the phone sends nothing of its own accord
// (OwnSends is zero): a replay waits on it instead of polling.
func (ph *Phone) OwnSendsIdle() <-chan struct{} { return ph.ownSends.Idle() }

// sendOnOwn runs send in the background, counted by OwnSends.
func (ph *Phone) sendOnOwn(send func()) { ph.ownSends.Go(send) }

// newStream opens the RTP socket of a call, with the SSRC, first sequence number and
// timestamp the phone's generator gives the call.
func (ph *Phone) newStream(callID string) (*media.Stream, error) {
	g := ph.ids
	s, err := media.Config{SSRC: g.Uint32("ssrc", callID), Sequence: uint16(g.Uint32("rtp-seq", callID)%0xffff + 1),
		Timestamp: g.Uint32("rtp-ts", callID)}.Listen(ph.ip)
	if err != nil {
		return nil, fmt.Errorf("rtp socket: %w", err)
	}
	return s, nil
}
