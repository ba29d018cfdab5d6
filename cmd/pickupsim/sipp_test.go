package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// requireTool finds a real peer binary. Interoperability tests must run in CI: there a
// missing binary fails the test; on a developer's machine it skips.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed, and CI must run this test (apt-get install -y %s; .ci/run does)", name, pkg)
	}
	t.Skipf("%s is not installed (apt-get install -y %s); CI runs this test", name, pkg)
	return ""
}

// sippPhone is one SIPp "phone": a user on its own fixed loopback port, so that the
// REGISTER and later INVITEs come from the same address (the pools identify enterprise
// callers by the address they registered from).
type sippPhone struct {
	user      string
	port, rtp int
}

type sippRun struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan error
}

// sipp starts one SIPp process running scenario as phone, towards pool (empty for a
// phone that only answers), dialling service, with extra SIPp arguments.
func sipp(t *testing.T, bin, scenario string, ph sippPhone, pool, service string, extra ...string) *sippRun {
	t.Helper()
	sf, err := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	require.NoError(t, err)
	args := []string{"-sf", sf, "-key", "user", ph.user, "-i", "127.0.0.1", "-p", strconv.Itoa(ph.port),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(ph.rtp), "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error",
		"-trace_err", "-trace_msg"}
	if service != "" {
		args = append(args, "-s", service)
	}
	args = append(args, extra...)
	if pool != "" {
		args = append([]string{pool}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	r := &sippRun{cmd: cmd, out: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	require.NoError(t, cmd.Start())
	go func() { r.done <- cmd.Wait(); cancel() }()
	t.Cleanup(cancel) // kills a SIPp still running when the test ends
	return r
}

// wait requires the SIPp process to end with exit status 0: every call of the scenario
// went as written.
func (r *sippRun) wait(t *testing.T, what string) {
	t.Helper()
	var err error
	select {
	case err = <-r.done:
	case <-time.After(40 * time.Second):
		t.Fatalf("%s: sipp still running", what)
	}
	if err != nil {
		logs, _ := filepath.Glob(filepath.Join(r.cmd.Dir, "*.log"))
		var detail bytes.Buffer
		for _, l := range logs {
			data, _ := os.ReadFile(l)
			fmt.Fprintf(&detail, "--- %s\n%s\n", filepath.Base(l), data)
		}
		t.Fatalf("%s: sipp %v\n%s", what, err, detail.String())
	}
}

// freePorts returns n distinct free UDP ports on loopback.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var conns []net.PacketConn
	var out []int
	for range n {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		conns = append(conns, c)
		out = append(out, c.LocalAddr().(*net.UDPAddr).Port)
	}
	for _, c := range conns {
		c.Close()
	}
	return out
}

// waitBound waits until some process (SIPp) has bound the UDP port. It reads the kernel's
// socket table rather than trying to bind the port itself: a probe that binds would, for
// that instant, take the port from the SIPp starting up, which then exits.
func waitBound(t *testing.T, port int) {
	t.Helper()
	eventually(t, fmt.Sprintf("sipp to bind port %d", port), func() bool { return udpBound(port) })
}

// udpBound reports whether a UDP socket is bound to port on loopback or any address
// (/proc/net/udp: "sl local_address ...", addresses as hex ip:port).
func udpBound(port int) bool {
	data, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return false
	}
	want := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasSuffix(f[1], want) && (strings.HasPrefix(f[1], "0100007F:") || strings.HasPrefix(f[1], "00000000:")) {
			return true
		}
	}
	return false
}

// TestSIPpGroupCallPickupThroughAFailover drives `pickupsim serve` with SIPp as an
// unmodified client through the seed's story: a pickup works, is refused while the pool is
// out and failing over, and works again on the backup once failover completes and the
// group's range is redirected with Set-CsCallParkOrbit.
func TestSIPpGroupCallPickupThroughAFailover(t *testing.T) {
	bin := requireTool(t, "sipp", "sip-tester")
	s, api, _ := startServe(t, labForTests)
	p1, _ := s.Network.Pool("pool01.contoso.com")
	p2, _ := s.Network.Pool("pool02.contoso.com")
	ports := freePorts(t, 6)
	alice := sippPhone{"alice", ports[0], ports[1]}
	bob := sippPhone{"bob", ports[2], ports[3]}
	carol := sippPhone{"carol", ports[4], ports[5]}

	register := func(t *testing.T, scenario, pool string) {
		t.Helper()
		for _, ph := range []sippPhone{alice, bob, carol} {
			sipp(t, bin, scenario, ph, pool, "").wait(t, ph.user+" "+scenario+" at "+pool)
		}
	}
	pickup := func(t *testing.T, pool string) {
		t.Helper()
		callee := sipp(t, bin, "callee-picked-up.xml", bob, "", "")
		waitBound(t, bob.port)
		caller := sipp(t, bin, "caller.xml", alice, pool, "bob")
		eventually(t, "alice's call to bob to be queued on 100", func() bool { return s.Network.QueueLength("100") == 1 })
		picker := sipp(t, bin, "picker.xml", carol, pool, "100")
		picker.wait(t, "carol picks up 100 at "+pool)
		caller.wait(t, "alice is answered by carol at "+pool)
		callee.wait(t, "bob's ringing leg is cancelled at "+pool)
		require.Zero(t, s.Network.QueueLength("100"))
	}

	t.Run("normal: pickup works", func(t *testing.T) {
		register(t, "register.xml", p1.Addr())
		pickup(t, p1.Addr())
	})
	t.Run("outage and failing over: pickup refused", func(t *testing.T) {
		cmdlet(t, api, "Invoke-PoolOutage", map[string]any{"PoolFqdn": "pool01.contoso.com"})
		time.Sleep(1100 * time.Millisecond) // the 1 s registrar failover timer of labForTests
		register(t, "register-resiliency.xml", p2.Addr())
		cmdlet(t, api, "Invoke-CsPoolFailOver", map[string]any{"PoolFqdn": "pool01.contoso.com", "DisasterMode": true})
		sipp(t, bin, "picker-refused.xml", carol, p2.Addr(), "100").wait(t, "carol's pickup refused in resiliency mode")
	})
	t.Run("failed over and orbits redirected: pickup works again", func(t *testing.T) {
		cmdlet(t, api, "Complete-PoolFailOver", map[string]any{"PoolFqdn": "pool01.contoso.com"})
		cmdlet(t, api, "Set-CsCallParkOrbit", map[string]any{"Identity": "pickup-pool01", "CallParkService": "pool02.contoso.com"})
		register(t, "register.xml", p2.Addr())
		pickup(t, p2.Addr())
	})
}
