// Package pcaptest reads captures back with tshark, Wireshark's command-line dissector, so
// that tests check a capture as its users will see it rather than as the writer meant it.
package pcaptest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Options are the dissector settings every decode uses: RTP recognised on any UDP port
// (Wireshark otherwise finds RTP only through the SDP it has decoded), and the IPv4, UDP
// and TCP checksums validated, so that a frame the writer got wrong is flagged.
var Options = []string{
	"-o", "rtp.heuristic_rtp:TRUE",
	"-o", "ip.check_checksum:TRUE",
	"-o", "udp.check_checksum:TRUE",
	"-o", "tcp.check_checksum:TRUE",
}

// Tshark returns tshark's path. Outside CI a missing tshark skips the test; in CI (CI set)
// it fails it: .ci/run installs tshark, and a capture must be decoded there.
func Tshark(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("tshark")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("tshark is not installed, and CI must decode captures (apt-get install -y tshark; .ci/run does)")
	}
	t.Skipf("tshark is not installed (apt-get install -y tshark); CI runs this test")
	return ""
}

// Fields decodes file with Options and extra, keeps the packets that match the display
// filter, and returns the fields asked for, one row per packet (an absent field is "";
// a repeated one is its values joined by commas).
func Fields(t testing.TB, file, filter string, extra []string, fields ...string) [][]string {
	t.Helper()
	args := append([]string{"-r", file, "-n"}, Options...)
	args = append(args, extra...)
	if filter != "" {
		args = append(args, "-Y", filter)
	}
	args = append(args, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,")
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out := Run(t, args...)
	var rows [][]string
	for line := range strings.SplitSeq(strings.TrimRight(out, "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows
}

// Run runs tshark with args and returns its standard output; an exit status other than
// zero, or anything tshark prints on standard error, fails the test (tshark reports a cut
// short or malformed file there).
func Run(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Tshark(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// No preferences of the machine's user: the decode is Options and args only.
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	err := cmd.Run()
	if err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if msg := strings.TrimSpace(filterNoise(stderr.String())); msg != "" {
		t.Fatalf("tshark %s complained:\n%s", strings.Join(args, " "), msg)
	}
	return stdout.String()
}

// filterNoise drops what tshark says about how it runs (as root) rather than about the file.
func filterNoise(s string) string {
	var kept []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, "Running as user") || strings.Contains(line, "dangerous") {
			continue
		}
		kept = append(kept, line)
	}
	return strings.Join(kept, "\n")
}
