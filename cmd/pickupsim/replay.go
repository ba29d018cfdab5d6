package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/pickupsim/pickupsim/scenarios/report"
	"github.com/pickupsim/pickupsim/scenarios/runner"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

// errScenariosFailed makes the process exit 1 once every report is written.
var errScenariosFailed = errors.New("some scenarios failed")

func exitCode(err error) int {
	if errors.Is(err, errScenariosFailed) {
		return 1
	}
	return 2
}

type replayFlags struct {
	parallel int
	junit    string
	json     string
	html     string
	pcap     string
	verbose  bool
	// seed seeds every identifier the replays make (runner.Options.Seed).
	seed uint64
	// loss is the fraction of packets the network drops (a lossy namespace), for media checks.
	loss float64
	// live forces the live progress line even when stdout is not a terminal (tests).
	live bool
}

func newReplayCmd() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay [flags] PATH...",
		Short: "Replay scenario files (or every scenario of folders) over real SIP and RTP on loopback",
		Long: `Replays each scenario over the simulator's pools and phones on loopback, on a virtual
clock, prints one line per scenario and ends with "N passed, M failed". The exit status
is 0 only when every scenario passes.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return replay(cmd.OutOrStdout(), args, f)
		},
	}
	cmd.Flags().IntVarP(&f.parallel, "parallel", "p", runtime.NumCPU(), "scenarios to replay at once (default: one per CPU)")
	cmd.Flags().StringVar(&f.junit, "junit", "", "write a JUnit XML report to `FILE`")
	cmd.Flags().StringVar(&f.json, "json", "", "write a JSON timeline of steps and SIP messages to `FILE`")
	cmd.Flags().StringVar(&f.html, "html", "", "write a self-contained HTML report with SIP ladders to `FILE`")
	cmd.Flags().StringVar(&f.pcap, "pcap", "", "write one capture per scenario (SIP and RTP, virtual timestamps) into `DIR`, named after its file")
	cmd.Flags().Uint64Var(&f.seed, "seed", 0, "seed of every Call-ID, tag, branch, SDP id and nonce the replay makes: one seed, the same messages and the same --json bytes")
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "print every step and the network's logs")
	cmd.Flags().Float64Var(&f.loss, "network-loss", 0, "fraction of packets the network drops at random (0.05 in a 5 % loss namespace): media checks accept that much RTP loss")
	return cmd
}

func replay(out io.Writer, paths []string, f replayFlags) error {
	files, err := scenario.Collect(paths...)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no scenario files in %v", paths)
	}
	if err := prepareCaptures(f.pcap, files); err != nil {
		return err
	}
	// sipgo logs through slog's default logger; keep a replay's output to its results.
	opts := runner.Options{NetworkLoss: f.loss, PcapDir: f.pcap, Seed: f.seed}
	if f.verbose {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	} else {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	prog := newProgress(out, files, f.live || isTerminal(out))
	results := runAll(files, max(f.parallel, 1), opts, prog, f.verbose)
	prog.close()
	passed := 0
	for _, r := range results {
		if r.Passed {
			passed++
		}
	}
	if err := writeReports(results, f); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d passed, %d failed\n", passed, len(results)-passed)
	if passed != len(results) {
		return errScenariosFailed
	}
	return nil
}

// runAll replays files with at most n at once, printing each result through prog in file
// order as soon as it and those before it are done. Results come back in file order.
func runAll(files []string, n int, opts runner.Options, prog *progress, verbose bool) []runner.Result {
	results := make([]runner.Result, len(files))
	ready := make([]chan struct{}, len(files))
	for i := range ready {
		ready[i] = make(chan struct{})
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	// Scenarios start in file order: with --parallel 1 they run one after the other.
	go func() {
		for i, file := range files {
			sem <- struct{}{}
			prog.started(i)
			wg.Go(func() {
				results[i] = runner.RunFile(file, opts)
				prog.stopped(i)
				<-sem
				close(ready[i])
			})
		}
	}()
	for i := range files {
		<-ready[i]
		prog.print(func(w io.Writer) { printResult(w, results[i], verbose) })
	}
	wg.Wait()
	return results
}

func printResult(out io.Writer, r runner.Result, verbose bool) {
	status := "PASS"
	if !r.Passed {
		status = "FAIL"
	}
	fmt.Fprintf(out, "%s  %-55s %s  (%s real, %s simulated)\n", status, r.Name, r.File, r.Wall.Round(time.Millisecond), r.Simulated)
	if r.Error != "" {
		fmt.Fprintf(out, "      %s\n", r.Error)
	}
	for _, fl := range r.Failures {
		fmt.Fprintf(out, "      %s\n", fl)
	}
	if verbose {
		for _, s := range r.Steps {
			fmt.Fprintf(out, "      %s:%d +%s %s -> %s\n", r.File, s.Line, s.SimTime, s.Text, s.Detail)
		}
	}
}

func writeReports(results []runner.Result, f replayFlags) error {
	writers := []struct {
		path  string
		write func(io.Writer, []runner.Result) error
	}{{f.junit, report.JUnit}, {f.json, report.JSON}, {f.html, report.HTML}}
	for _, w := range writers {
		if w.path == "" {
			continue
		}
		file, err := os.Create(w.path)
		if err != nil {
			return err
		}
		err = w.write(file, results)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", w.path, err)
		}
	}
	return nil
}
