package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pickupsim/pickupsim/scenarios/load"
	"github.com/pickupsim/pickupsim/scenarios/report"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

type loadFlags struct {
	json    string
	html    string
	cpu     string
	pprof   string
	verbose bool
	// live forces the live progress line even when stdout is not a terminal (tests).
	live bool
	// every is how often a plain progress line is printed when not live.
	every time.Duration
}

func newLoadCmd() *cobra.Command {
	var f loadFlags
	cmd := &cobra.Command{
		Use:   "load [flags] FILE.load.yaml",
		Short: "Run a load rehearsal: thousands of phones through outage, failover and failback, with per-phase figures",
		Long: `Starts the rehearsal's generated deployment on loopback, registers its population of load
phones, lets its traffic flow (calls, Group Call Pickups, parks and retrievals) while the
timeline's disaster-recovery actions run, and prints a table per phase: attempts, successes,
refusals by code and reason, p50/p99 setup times, how long the users each action moved took
to be back in service, and RTP loss on the measured calls. On a terminal a live line shows
the phase, phones registered by mode, calls up and pickups per second. The exit status is 0
only when every expectation holds (1 when some fail, 2 on a usage or I/O error).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runLoad(ctx, cmd.OutOrStdout(), args[0], f)
		},
	}
	cmd.Flags().StringVar(&f.json, "json", "", "write the result (every phase, the per-second series) as JSON to `FILE`")
	cmd.Flags().StringVar(&f.html, "html", "", "write a self-contained HTML report with time-series plots to `FILE`")
	cmd.Flags().StringVar(&f.cpu, "cpuprofile", "", "write a CPU profile of the whole run (pools and phones) to `FILE`")
	cmd.Flags().StringVar(&f.pprof, "pprof", "", "serve Go's runtime profiles and memory statistics on loopback `ADDR` while it runs")
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "print the pools' logs (warnings and worse) on stderr")
	cmd.Flags().DurationVar(&f.every, "progress-every", 10*time.Second, "how often a progress line is printed when the output is not a terminal (0: never)")
	return cmd
}

func runLoad(ctx context.Context, out io.Writer, file string, f loadFlags) error {
	rh, err := scenario.LoadRehearsal(file)
	if err != nil {
		return err
	}
	// sipgo logs through slog's default logger; keep the output to the figures.
	opts := load.Options{}
	if f.verbose {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	} else {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	lp := &loadProgress{out: out, live: f.live || isTerminal(out), every: f.every, width: termWidth()}
	opts.Progress = lp.show
	fmt.Fprintf(out, "load rehearsal %s: %s users on %d pools, %d phases\n", file, report.Thousands(rh.Population.Users()), rh.Population.Pools, len(rh.Phases))
	stopProfile, err := cpuProfile(f.cpu)
	if err != nil {
		return err
	}
	if f.pprof != "" {
		url, stop, err := servePprof(f.pprof)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(out, "pprof: %s\n", url)
	}
	res := load.Run(ctx, rh, opts)
	if err := stopProfile(); err != nil {
		return err
	}
	lp.close()
	if err := report.LoadText(out, res); err != nil {
		return err
	}
	for _, w := range []struct {
		path  string
		write func(io.Writer, *load.Result) error
	}{{f.json, report.LoadJSON}, {f.html, report.LoadHTML}} {
		if w.path == "" {
			continue
		}
		if err := writeFile(w.path, func(wr io.Writer) error { return w.write(wr, res) }); err != nil {
			return err
		}
	}
	if !res.Passed {
		return errScenariosFailed
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	err = write(file)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// loadProgress shows the live figures: overwritten in place on a terminal, a plain line
// every so often elsewhere (CI logs).
type loadProgress struct {
	mu    sync.Mutex
	out   io.Writer
	live  bool
	every time.Duration
	width int
	last  time.Duration
	shown bool
}

func (p *loadProgress) show(pr load.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := report.LoadProgressLine(pr)
	if p.live {
		if r := []rune(line); len(r) > p.width-1 {
			line = string(r[:p.width-2]) + "…"
		}
		fmt.Fprint(p.out, "\r\x1b[K"+line)
		p.shown = true
		return
	}
	if p.every > 0 && pr.Elapsed-p.last >= p.every {
		p.last = pr.Elapsed
		fmt.Fprintln(p.out, line)
	}
}

func (p *loadProgress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.out, "\r\x1b[K")
		p.shown = false
	}
}
