package admin

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// ErrTokenRequired is returned for an admin address off loopback without a bearer token.
var ErrTokenRequired = errors.New("the admin API is bound off loopback: a bearer token is required (--admin-token or PICKUPSIM_ADMIN_TOKEN)")

// maxBody bounds a cmdlet's JSON parameters.
const maxBody = 64 << 10

// Config configures an admin server.
type Config struct {
	Network *sip.Network
	// TopologyFile is where accepted configuration changes are saved; empty keeps them in
	// memory only (the built-in lab topology).
	TopologyFile string
	// Token, when set, must be presented as "Authorization: Bearer <Token>" (or ?token=).
	Token  string
	Logger *slog.Logger
	// BodyTimeout bounds how long a cmdlet's body may take to arrive; zero: 10 s.
	BodyTimeout time.Duration
	// RefreshEvery is how often the status stream checks for changes no event reports
	// (a registration expiring, the registrar failover timer running out). Zero: 1 s.
	RefreshEvery time.Duration
}

// Server is the admin surface of one running network.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mu      sync.Mutex // serialises cmdlets and saves
	metrics *metrics
	reg     *prometheus.Registry
	stop    func()

	watchMu  sync.Mutex
	watchers map[chan struct{}]bool

	changes  *changeLog    // changelog.go
	recheck  chan struct{} // a change happened: compare the status now
	compared atomic.Int64  // comparisons of the status the change log made (changelog.go)
}

// New builds the admin server and starts observing the network.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RefreshEvery == 0 {
		cfg.RefreshEvery = time.Second
	}
	s := &Server{cfg: cfg, log: cfg.Logger, reg: prometheus.NewRegistry(), watchers: map[chan struct{}]bool{}, recheck: make(chan struct{}, 1)}
	s.metrics = newMetrics(s.reg, cfg.Network)
	s.stop = cfg.Network.OnChange(func(c sip.Change) {
		s.metrics.observe(c)
		s.wake()
	})
	s.startChangeLog()
	return s
}

// Close stops observing the network.
func (s *Server) Close() { s.stop() }

// CheckBind refuses an address off loopback without a token.
func CheckBind(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("admin address %q: %w", addr, err)
	}
	if token != "" {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("admin address %s: %w", addr, ErrTokenRequired)
}

// Handler returns the HTTP API:
//
//	GET  /                      the live status page
//	GET  /api/status            Status as JSON
//	GET  /api/events            Status as server-sent events, on every change
//	GET  /api/cmdlets           the cmdlets and their parameters
//	POST /api/cmdlets/{name}    run a cmdlet; the body is a JSON object of its parameters
//	GET  /metrics               Prometheus metrics
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.fullStatus())
	})
	mux.HandleFunc("GET /api/events", s.events)
	mux.HandleFunc("GET /api/cmdlets", s.listCmdlets)
	mux.HandleFunc("POST /api/cmdlets/{name}", s.runCmdlet)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	return s.guard(mux) // guard.go: token, origin and Host checks
}

func (s *Server) auth(next http.Handler) http.Handler {
	if s.cfg.Token == "" {
		return next
	}
	want := []byte(s.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.URL.Query().Get("token")
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			got = strings.TrimPrefix(h, "Bearer ")
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pickupsim"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{Error: "missing or wrong bearer token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

type errorBody struct {
	Error string `json:"error"`
}

// Result is a cmdlet's answer.
type Result struct {
	Cmdlet string `json:"cmdlet"`
	Result any    `json:"result,omitempty"`
	Saved  string `json:"saved,omitempty"`
}

func (s *Server) runCmdlet(w http.ResponseWriter, r *http.Request) {
	c, ok := lookupCmdlet(r.PathValue("name"))
	if !ok {
		writeJSON(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no cmdlet named %q (GET /api/cmdlets lists them)", r.PathValue("name"))})
		return
	}
	body, ok := s.readCmdletBody(w, r, c.Name) // guard.go: JSON only, size and time limits
	if !ok {
		return
	}
	p, err := parseParams(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: c.Name + ": " + err.Error()})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := c.run(s.cfg.Network, p, c.Name)
	if err != nil {
		s.log.Info("cmdlet refused", "cmdlet", c.Name, "err", err)
		writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
		return
	}
	res := Result{Cmdlet: c.Name, Result: out}
	if c.changes {
		s.cfg.Network.NotifyConfigChanged(c.Name)
		if s.cfg.TopologyFile != "" {
			if err := scenario.UpdateTopologyFile(s.cfg.TopologyFile, Snapshot(s.cfg.Network), savedHeader); err != nil {
				s.log.Error("topology not saved", "cmdlet", c.Name, "err", err)
				writeJSON(w, http.StatusInternalServerError, errorBody{Error: fmt.Sprintf("%s was applied but not saved: %v", c.Name, err)})
				return
			}
			res.Saved = s.cfg.TopologyFile
		}
	}
	s.log.Info("cmdlet", "cmdlet", c.Name, "saved", res.Saved)
	writeJSON(w, http.StatusOK, res)
}

const savedHeader = "Saved by pickupsim serve after an administrator's change; edit freely while it is stopped."

// Snapshot returns the network's state as a topology: the one it started from, with the
// orbit table, pickup groups, CPS settings and pool phases as they are now, so a restarted
// simulator picks up where the administrator left it.
func Snapshot(n *sip.Network) topology.Topology {
	var t topology.Topology
	n.Deployment(func(d *topology.Deployment) {
		t = d.Topology()
		t.Pools = slices.Clone(t.Pools)
		t.Users = slices.Clone(t.Users)
		for i, p := range t.Pools {
			c, err := d.CPS(p.FQDN)
			if err == nil {
				t.Pools[i].CPS = &c
			}
			phase, up, _ := d.Phase(p.FQDN)
			t.Pools[i].Phase, t.Pools[i].Down = phase, !up
		}
		for i, u := range t.Users {
			t.Users[i].PickupNumber, _ = d.PickupNumber(u.Name)
		}
		t.Orbits = d.Orbits()
	})
	return t
}

func (s *Server) listCmdlets(w http.ResponseWriter, r *http.Request) {
	type info struct {
		Name       string   `json:"name"`
		Positional string   `json:"positional,omitempty"`
		Params     []string `json:"params"`
		Synopsis   string   `json:"synopsis"`
	}
	var out []info
	for _, c := range Cmdlets() {
		out = append(out, info{c.Name, c.Positional, c.Params, c.Synopsis})
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// wake tells every status stream to look again. It never blocks.
func (s *Server) wake() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for ch := range s.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (s *Server) watch() (chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.watchMu.Lock()
	s.watchers[ch] = true
	s.watchMu.Unlock()
	return ch, func() {
		s.watchMu.Lock()
		delete(s.watchers, ch)
		s.watchMu.Unlock()
	}
}

// events streams the status as server-sent events: one at once, then one whenever it
// changes (a change event, or the periodic check finding a difference).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	ch, done := s.watch()
	defer done()
	tick := time.NewTicker(s.cfg.RefreshEvery)
	defer tick.Stop()
	var last []byte
	for {
		st := s.fullStatus()
		now := st.Now
		st.Now = time.Time{} // the clock alone is no change; the page counts timers down itself
		data, _ := json.Marshal(st)
		if string(data) != string(last) {
			last = data
			st.Now = now
			data, _ = json.Marshal(st)
			if _, err := fmt.Fprintf(w, "event: status\ndata: %s\n\n", data); err != nil {
				return
			}
			fl.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-ch:
		case <-tick.C:
		}
	}
}

//go:embed status.html
var statusPage []byte

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(statusPage)
}

// Serve runs the API on ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes,
		// Status streams end with ctx, so Shutdown does not wait on them.
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(sctx) // SSE streams end when their request context is cancelled
		hs.Close()
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
