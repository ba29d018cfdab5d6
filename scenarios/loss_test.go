package scenarios_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/pickupsim/pickupsim/scenarios/runner"
	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

// lossRate is the share of packets the lossy network drops: SIP must survive it.
const lossRate = 0.05

// lossEnv tells the test binary it runs inside the lossy namespace, and at what loss.
const lossEnv = "PICKUPSIM_LOSS_CHILD"

// TestLibraryUnderLoss replays the bundled library on a network that drops 5 % of the
// packets at random (issue 10.10): a network namespace of the test's own, whose loopback
// drops packets by an iptables statistic rule (the kernel here has no netem), never the
// host's. The test binary runs itself again inside it. Every scenario must pass there:
// the phones and pools retransmit as RFC 3261 says, and media checks accept the loss the
// network explains. It needs root, ip and iptables; CI installs them, and fails rather
// than skips without them.
func TestLibraryUnderLoss(t *testing.T) {
	if os.Getenv(lossEnv) != "" {
		replayLibraryUnderLoss(t)
		return
	}
	if testing.Short() {
		t.Skip("-short: the lossy replay takes about a minute")
	}
	missing := lossPrerequisites()
	switch {
	case missing != "" && os.Getenv("CI") == "true":
		t.Fatalf("CI=true but %s: .ci/run installs iproute2 and iptables and runs as root", missing)
	case missing != "":
		t.Skipf("%s; CI runs this test", missing)
	}
	ns := os.Getenv("PICKUPSIM_LOSS_NETNS")
	if ns == "" {
		ns = fmt.Sprintf("pickupsim-loss-%d", os.Getpid())
	}
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
	run(t, "ip", "netns", "exec", ns, "iptables", "-A", "INPUT", "-i", "lo") // counts every packet
	run(t, "ip", "netns", "exec", ns, "iptables", "-A", "INPUT", "-i", "lo",
		"-m", "statistic", "--mode", "random", "--probability", strconv.FormatFloat(lossRate, 'f', -1, 64), "-j", "DROP")

	child := exec.Command("ip", "netns", "exec", ns, os.Args[0],
		"-test.run", "^TestLibraryUnderLoss$", "-test.count", "1", "-test.v", "-test.timeout", "10m")
	child.Env = append(os.Environ(), lossEnv+"="+strconv.FormatFloat(lossRate, 'f', -1, 64))
	out, err := child.CombinedOutput()
	dropped, total := dropCounters(t, ns)
	t.Logf("the namespace dropped %d of %d packets (%.1f %%)", dropped, total, 100*float64(dropped)/float64(max(total, 1)))
	if err != nil {
		t.Fatalf("the library failed at %.0f %% loss: %v\n%s", 100*lossRate, err, failures(out))
	}
	if dropped == 0 {
		t.Fatal("the namespace dropped nothing: the replay proved nothing about loss")
	}
}

// replayLibraryUnderLoss is the test's run inside the lossy namespace.
func replayLibraryUnderLoss(t *testing.T) {
	loss, err := strconv.ParseFloat(os.Getenv(lossEnv), 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", lossEnv, os.Getenv(lossEnv), err)
	}
	files, err := scenario.Collect(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			res := runner.RunFile(f, runner.Options{NetworkLoss: loss})
			if res.Error != "" {
				t.Fatal(res.Error)
			}
			for _, fl := range res.Failures {
				t.Error(fl)
			}
		})
	}
}

// lossPrerequisites says what the lossy namespace cannot be built without, or "".
func lossPrerequisites() string {
	if os.Geteuid() != 0 {
		return "not root: network namespaces need it"
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not installed"
		}
	}
	return ""
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// dropCounters reads how many packets reached the namespace's loopback (the first,
// counting rule) and how many the DROP rule dropped.
func dropCounters(t *testing.T, ns string) (dropped, total int64) {
	out, err := exec.Command("ip", "netns", "exec", ns, "iptables", "-L", "INPUT", "-v", "-x", "-n").CombinedOutput()
	if err != nil {
		t.Logf("iptables counters: %v\n%s", err, out)
		return 0, 0
	}
	// After the header lines, one line per rule: "pkts bytes target prot opt in ...".
	var counts []int64
	for _, l := range strings.Split(string(out), "\n")[2:] {
		if f := strings.Fields(l); len(f) > 2 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			counts = append(counts, n)
		}
	}
	if len(counts) == 2 {
		return counts[1], counts[0]
	}
	t.Logf("iptables counters: unexpected rules\n%s", out)
	return 0, 0
}

// failures keeps the lines of the child's output that tell what failed.
func failures(out []byte) string {
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "FAIL") || strings.Contains(l, "expected") || strings.Contains(l, ".yaml:") {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return string(out)
	}
	return strings.Join(keep, "\n")
}
