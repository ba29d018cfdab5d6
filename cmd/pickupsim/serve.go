package main

import (
	"context"
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pickupsim/pickupsim/cmd/pickupsim/internal/admin"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/topology"
)

//go:embed lab.yaml
var labTopology []byte

// defaultAdminAddr is where the admin API and status page listen unless told otherwise.
const defaultAdminAddr = "127.0.0.1:5080"

type serveFlags struct {
	topology  string
	admin     string
	token     string
	logFormat string
	logLevel  string
	printLab  bool
	tlsCert   string
	tlsKey    string
	pprof     string // pprof.go
	cpu       string // pprof.go
	pcap      string
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve [--topology FILE]",
		Short: "Serve the topology's pools to real phones and SIPp, with an admin API and a live status page",
		Long: `Starts every pool of the topology on its address (UDP and TCP), prints where each pool and
the admin surface listen, logs every SIP transaction (log/slog), and runs until SIGINT or
SIGTERM. Without --topology it serves the built-in two-pool lab topology
(--print-lab-topology shows it). Changes made through the admin API are saved to the
topology file, atomically, so a restart keeps them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.printLab {
				_, err := cmd.OutOrStdout().Write(labTopology)
				return err
			}
			if f.token == "" {
				f.token = os.Getenv("PICKUPSIM_ADMIN_TOKEN")
			}
			if log, err := newLogger(cmd.ErrOrStderr(), f.logFormat, f.logLevel); err == nil {
				useAsDefaultLogger(log) // logging.go; serve reports a bad flag itself
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), f, nil)
		},
	}
	cmd.Flags().StringVar(&f.topology, "topology", "", "topology `FILE` (YAML, the scenario files' format); changes are saved to it")
	cmd.Flags().StringVar(&f.admin, "admin", defaultAdminAddr, "`ADDR` of the admin API and status page (off loopback needs --admin-token)")
	cmd.Flags().StringVar(&f.token, "admin-token", "", "bearer `TOKEN` the admin API requires (default $PICKUPSIM_ADMIN_TOKEN)")
	cmd.Flags().StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.Flags().BoolVar(&f.printLab, "print-lab-topology", false, "print the built-in lab topology and exit")
	cmd.Flags().StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate `FILE`: pools also accept SIP over TLS on their port + 1")
	cmd.Flags().StringVar(&f.tlsKey, "tls-key", "", "PEM private key `FILE` of --tls-cert")
	cmd.Flags().StringVar(&f.pprof, "pprof", "", "serve Go's runtime profiles and memory statistics on loopback `ADDR`, for benchmarks")
	cmd.Flags().StringVar(&f.cpu, "cpuprofile", "", "write a CPU profile from start to stop to `FILE`, for benchmarks")
	cmd.Flags().StringVar(&f.pcap, "pcap", "", "capture the SIP and RTP the pools send and receive into `FILE` (pcap, wall-clock timestamps)")
	return cmd
}

// served is what a running serve exposes to tests.
type served struct {
	Network  *sip.Network
	AdminURL string
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func loadServeTopology(path string) (topology.Topology, string, error) {
	if path == "" {
		t, err := scenario.ParseTopology("built-in lab topology", labTopology)
		return t, "the built-in lab topology (changes are kept in memory only)", err
	}
	t, err := scenario.LoadTopologyFile(path)
	return t, path, err
}

// serve runs the network and its admin surface until ctx ends. ready, if set, is called
// once both listen.
func serve(ctx context.Context, out, logOut io.Writer, f serveFlags, ready func(served)) error {
	log, err := newLogger(logOut, f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	if err := admin.CheckBind(f.admin, f.token); err != nil {
		return err
	}
	stopProfile, err := cpuProfile(f.cpu)
	if err != nil {
		return err
	}
	defer stopProfile()
	var pprofURL string
	if f.pprof != "" {
		url, stop, err := servePprof(f.pprof)
		if err != nil {
			return err
		}
		defer stop()
		pprofURL = url
	}
	topo, source, err := loadServeTopology(f.topology)
	if err != nil {
		return err
	}
	tlsConfig, err := loadTLS(f.tlsCert, f.tlsKey)
	if err != nil {
		return err
	}
	capture, err := startCapture(f.pcap, log)
	if err != nil {
		return err
	}
	defer capture.Close()
	n, warnings, err := sip.Start(sip.Config{Topology: topo, Logger: log, TLS: tlsConfig})
	if err != nil {
		return fmt.Errorf("starting %s: %w", source, err)
	}
	defer n.Close()
	ln, err := net.Listen("tcp", f.admin)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	srv := admin.New(admin.Config{Network: n, TopologyFile: f.topology, Token: f.token, Logger: log.With("component", "admin")})
	defer srv.Close()
	adminURL := "http://" + ln.Addr().String()

	fmt.Fprintf(out, "pickupsim serving %s (domain %s)\n", source, n.Domain())
	for _, w := range warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	for _, p := range n.Pools() {
		backup := ""
		if pc, ok := poolConfig(n, p.FQDN); ok && pc.Backup != "" {
			backup = ", backup " + pc.Backup
		}
		tlsAddr := ""
		if pool, ok := n.Pool(p.FQDN); ok && pool.TLSAddr() != "" {
			tlsAddr = ", sips:" + pool.TLSAddr() + " (tls)"
		}
		fmt.Fprintf(out, "  pool %-24s sip:%s (udp, tcp)%s%s\n", p.FQDN, p.Address, tlsAddr, backup)
	}
	fmt.Fprintf(out, "  status page  %s/\n  admin API    %s/api/  (pickupsim admin --url %s ...)\n  metrics      %s/metrics\n",
		adminURL, adminURL, adminURL, adminURL)
	if f.token != "" {
		fmt.Fprintf(out, "  the admin API requires the bearer token (open the page as %s/?token=...)\n", adminURL)
	}
	if pprofURL != "" {
		fmt.Fprintf(out, "  pprof        %s\n", pprofURL)
	}
	fmt.Fprintln(out, "Ctrl-C stops.")

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	if ready != nil {
		ready(served{Network: n, AdminURL: adminURL})
	}
	select {
	case <-ctx.Done():
		err = <-errc
	case err = <-errc:
	}
	log.Info("shutting down")
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func poolConfig(n *sip.Network, fqdn string) (topology.Pool, bool) {
	var pc topology.Pool
	var ok bool
	n.Deployment(func(d *topology.Deployment) { pc, ok = d.PoolConfig(fqdn) })
	return pc, ok
}

// loadTLS reads the certificate pools present to phones that connect over TLS.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "" || keyFile == "":
		return nil, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s / --tls-key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
