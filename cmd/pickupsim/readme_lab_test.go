package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMELab pastes every command block of the README's Lab section, in order, into
// one bash shell (as a lab engineer pastes them into a terminal), in a copy of the
// repository, with the fixed ports the README shows, and checks that each does what the
// text around it says. A `pickupsim serve` line stands for a terminal of its own: it runs
// in the background until the next one replaces it (SIGINT, as Ctrl-C), and the following
// lines wait until it has printed where it listens.
//
// It binds the README's ports, so it takes a lock first: concurrent runs (another
// worktree, -count) wait their turn; a port some other program holds fails it at once,
// naming the port.
func TestREADMELab(t *testing.T) {
	requireTool(t, "sipp", "sip-tester")
	requireTool(t, "baresip", "baresip-core")
	requireTool(t, "bash", "bash")
	requireTool(t, "tshark", "tshark")
	unlock := labLock(t)
	defer unlock()
	requireLabPortsFree(t)

	blocks := labBlocks(t, "../../README.md")
	work := copyRepository(t, "../..")
	sh := startShell(t, work)

	// What each block must do, recognised by a line it contains. Every one must be found:
	// a README edit that drops one fails here rather than silently testing less.
	checks := []struct {
		marker string
		check  func(t *testing.T, b labBlock, out string)
	}{
		{"go install ./cmd/pickupsim", func(t *testing.T, _ labBlock, _ string) {
			path := strings.TrimSpace(sh.run(t, "command -v pickupsim", time.Minute))
			assert.Equal(t, filepath.Join(work, ".gopath", "bin", "pickupsim"), path, "the block puts pickupsim on the PATH")
		}},
		{"pickupsim serve             #", func(t *testing.T, b labBlock, _ string) {
			want := b.next(t, blocks) // "It prints where everything listens:"
			assert.Equal(t, want.body, sh.serveOutput(t), "serve prints what the README shows")
		}},
		{"pickupsim serve --topology lab.yaml", func(t *testing.T, _ labBlock, _ string) {
			data, err := os.ReadFile(filepath.Join(work, "lab.yaml"))
			require.NoError(t, err)
			assert.Equal(t, string(labTopology), string(data), "--print-lab-topology prints the built-in topology")
			assert.Contains(t, sh.serveOutput(t), "pickupsim serving lab.yaml (domain contoso.com)")
		}},
		{"baresip_phone alice 5090", func(t *testing.T, _ labBlock, _ string) {
			for _, f := range []string{"phones/alice/config", "phones/bob/accounts", "phones/carol/config"} {
				assert.FileExists(t, filepath.Join(work, f))
			}
		}},
		{`echo "/dial sip:100@contoso.com"`, func(t *testing.T, _ labBlock, out string) {
			assert.Contains(t, out, "200 OK () [1 binding]", "the first lines register on pool01")
			assert.Contains(t, out, "301 Moved Permanently", "the backup lines are told pool01 serves them")
			assert.Contains(t, out, "Call established: sip:100@contoso.com", "carol picks up")
			from := regexp.MustCompile(`incoming rtp for 'audio' established, receiving from 127\.0\.0\.1:(\d+)`).FindAllStringSubmatch(out, -1)
			heard := map[string]bool{}
			for _, m := range from {
				port, _ := strconv.Atoi(m[1])
				switch {
				case port >= 10000 && port <= 10009:
					heard["alice"] = true
				case port >= 10020 && port <= 10029:
					heard["carol"] = true
				}
			}
			assert.True(t, heard["alice"], "carol receives alice's RTP")
			assert.True(t, heard["carol"], "alice receives carol's RTP")
		}},
		{"sipp_phone carol 5073 6120 5060 picker 100", func(t *testing.T, _ labBlock, _ string) {}},
		{"blf-pickup-replaces.xml -key user carol", func(t *testing.T, _ labBlock, out string) {
			assert.Regexp(t, `carol's lamp of bob: -key callid \S+ -key localtag \S+ -key remotetag \S+`, out,
				"SIPp logged the early dialog's identifiers from the NOTIFY")
		}},
		{"pickupsim admin Invoke-PoolOutage pool01.contoso.com", func(t *testing.T, _ labBlock, out string) {
			assert.Regexp(t, `registrar failover timer of pool01.contoso.com: pool02.contoso.com takes its users in \d+ s`, out)
			assert.Regexp(t, `carol\s+pool01.contoso.com\s+100\s+pool02.contoso.com\s+normal \(phone shows resiliency\)\s+pool02.contoso.com \(normal\)`, out)
			final := out[strings.LastIndex(out, "POOL "):]
			assert.Regexp(t, `pool01.contoso.com\s+127.0.0.1:5060\s+normal\s+true`, final, "failed back")
			assert.Regexp(t, `pickup-pool01\s+100-199\s+GroupPickup\s+pool01.contoso.com`, final)
			// The admin's saves kept lab.yaml as it was written.
			data, err := os.ReadFile(filepath.Join(work, "lab.yaml"))
			require.NoError(t, err)
			assert.Equal(t, string(labTopology), string(data), "after failback, lab.yaml reads as before, comments and all")
			assert.Regexp(t, `route=to-pickup`, sh.serveLog(t), "log lines name routes in words")
		}},
		{"tshark -r lab.pcap", func(t *testing.T, _ labBlock, out string) {
			assert.Regexp(t, `SIP/2\.0 480 Temporarily Unavailable\t399 pool02\.contoso\.com "carol is in resiliency mode`, out,
				"serve's capture holds carol's refused pickup, with its Warning")
		}},
	}
	done := map[string]bool{}
	for i, b := range blocks {
		if b.lang != "sh" {
			continue
		}
		out := sh.runBlock(t, b)
		for _, c := range checks {
			if strings.Contains(b.body, c.marker) {
				done[c.marker] = true
				t.Run(fmt.Sprintf("block %d (README line %d)", i, b.line), func(t *testing.T) { c.check(t, b, out) })
			}
		}
	}
	for _, c := range checks {
		assert.True(t, done[c.marker], "no command block of the Lab section contains %q", c.marker)
	}
	sh.stopServe(t)
	if t.Failed() {
		t.Logf("shell transcript:\n%s", sh.transcript())
	}
}

// labBlock is one fenced block of the Lab section.
type labBlock struct {
	lang, body string
	line       int // of the opening fence, 1-based
}

// next returns the block after b.
func (b labBlock) next(t *testing.T, blocks []labBlock) labBlock {
	for i := range blocks {
		if blocks[i].line == b.line && i+1 < len(blocks) {
			return blocks[i+1]
		}
	}
	t.Fatalf("no block after README line %d", b.line)
	return labBlock{}
}

// labBlocks reads the fenced blocks of the README's "## Lab" section.
func labBlocks(t *testing.T, readme string) []labBlock {
	t.Helper()
	data, err := os.ReadFile(readme)
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	var out []labBlock
	in := false
	var cur *labBlock
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "## "):
			in = strings.HasPrefix(l, "## Lab")
		case in && strings.HasPrefix(l, "```") && cur == nil:
			cur = &labBlock{lang: strings.TrimPrefix(l, "```"), line: i + 1}
		case in && strings.HasPrefix(l, "```"):
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.body += l + "\n"
		}
	}
	require.NotEmpty(t, out, "the README has a Lab section with command blocks")
	return out
}

// labPorts are the fixed ports the Lab section uses: none in 20000-32767, where the
// baresip drivers of the tests pick random free ports, nor in the kernel's ephemeral range,
// where port-0 sockets land, so tests of other packages running at the same time do not
// take them.
var labPorts = func() (ports []int) {
	for _, r := range [][2]int{{5060, 5063}, {5071, 5073}, {5080, 5080}, {5090, 5095}, {6090, 6094}, {6100, 6129}, {10000, 10029}} {
		for p := r[0]; p <= r[1]; p++ {
			ports = append(ports, p)
		}
	}
	return ports
}()

// labLock serialises the tests that bind the README's ports, across processes.
func labLock(t *testing.T) func() {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "pickupsim-readme-lab.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Minute)
	for syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			f.Close()
			t.Fatal("another run of the README Lab test held its lock for 10 minutes")
		}
		time.Sleep(time.Second)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}

// requireLabPortsFree fails, naming the port, when something else holds one of them.
func requireLabPortsFree(t *testing.T) {
	t.Helper()
	for _, p := range labPorts {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatalf("the README's Lab section needs UDP port %d, which another program holds (a pickupsim serve, SIPp or baresip left running?): %v", p, err)
		}
		u.Close()
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the README's Lab section needs TCP port %d, which another program holds (a pickupsim serve left running?): %v", p, err)
		}
		l.Close()
	}
}

// copyRepository copies the repository's files (tracked or new, not ignored) to a
// temporary folder: the Lab section writes lab.yaml and phones/ where it runs.
func copyRepository(t *testing.T, root string) string {
	t.Helper()
	work := t.TempDir()
	var files []string
	if out, err := exec.Command("git", "-C", root, "ls-files", "-co", "--exclude-standard").Output(); err == nil {
		files = strings.Fields(string(out))
	} else {
		require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() && d.Name() == ".git" {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				rel, _ := filepath.Rel(root, p)
				files = append(files, rel)
			}
			return nil
		}))
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted, not yet committed
		}
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(work, filepath.Dir(f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(work, f), data, 0o644))
	}
	return work
}

// labShell is one bash, fed the blocks as a terminal is.
type labShell struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	dir    string
	mu     sync.Mutex
	out    bytes.Buffer
	notify chan struct{}
	exited chan struct{}
	serves int
	marker int
}

func goEnv(t *testing.T, key string) string {
	out, err := exec.Command("go", "env", key).Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// startShell runs bash in dir with an environment of its own: HOME and GOPATH in the
// work folder (so `go install` installs there and the README's PATH line finds it), the
// machine's module and build caches (no download), no admin URL or token.
func startShell(t *testing.T, dir string) *labShell {
	t.Helper()
	env := []string{"HOME=" + filepath.Join(dir, ".home"), "GOPATH=" + filepath.Join(dir, ".gopath"),
		"GOMODCACHE=" + goEnv(t, "GOMODCACHE"), "GOCACHE=" + goEnv(t, "GOCACHE"), "GOFLAGS=",
		"GOPROXY=off", "GOTOOLCHAIN=local", "GOBIN="}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "GOPATH", "GOMODCACHE", "GOCACHE", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN", "GOBIN",
			"PICKUPSIM_ADMIN_URL", "PICKUPSIM_ADMIN_TOKEN":
			continue
		}
		env = append(env, kv)
	}
	s := &labShell{dir: dir, notify: make(chan struct{}, 1), exited: make(chan struct{})}
	s.cmd = exec.Command("bash", "--noprofile", "--norc")
	s.cmd.Dir, s.cmd.Env = dir, env
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the cleanup ends whatever it started
	pr, pw := io.Pipe()
	s.cmd.Stdout, s.cmd.Stderr = pw, pw
	var err error
	s.stdin, err = s.cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, s.cmd.Start())
	go func() {
		r := bufio.NewReader(pr)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			select {
			case s.notify <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { s.cmd.Wait(); pw.Close(); close(s.exited) }()
	t.Cleanup(func() {
		s.stdin.Close()
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	})
	s.run(t, "set -e -o pipefail", 10*time.Second)
	return s
}

func (s *labShell) transcript() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// run sends text to the shell and waits until it has run, returning what it printed.
func (s *labShell) run(t *testing.T, text string, timeout time.Duration) string {
	t.Helper()
	s.marker++
	done := fmt.Sprintf("__lab_block_%d_done__", s.marker)
	s.mu.Lock()
	start := s.out.Len()
	s.mu.Unlock()
	_, err := io.WriteString(s.stdin, text+"\necho "+done+"\n")
	require.NoError(t, err)
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		out := s.out.String()[start:]
		s.mu.Unlock()
		if i := strings.Index(out, done); i >= 0 {
			return out[:i]
		}
		select {
		case <-s.notify:
		case <-s.exited:
			t.Fatalf("the shell exited (a command failed, set -e) running:\n%s\noutput:\n%s", text, s.transcript()[start:])
		case <-deadline:
			t.Fatalf("still running after %s:\n%s\noutput:\n%s", timeout, text, s.transcript()[start:])
		}
	}
}

var serveLine = regexp.MustCompile(`^\s*pickupsim serve\b`)

// runBlock runs a block's lines; a `pickupsim serve` line (other than one that only prints
// the topology) replaces the running serve, and the next lines wait for it to listen.
func (s *labShell) runBlock(t *testing.T, b labBlock) string {
	t.Helper()
	var out strings.Builder
	var chunk []string
	flush := func() {
		if len(chunk) > 0 {
			out.WriteString(s.run(t, strings.Join(chunk, "\n"), 4*time.Minute))
			chunk = nil
		}
	}
	for _, l := range strings.Split(strings.TrimRight(b.body, "\n"), "\n") {
		if !serveLine.MatchString(l) || strings.Contains(l, "--print-lab-topology") {
			chunk = append(chunk, l)
			continue
		}
		flush()
		cmd, _, _ := strings.Cut(l, " #")
		s.stopServe(t)
		s.serves++
		s.run(t, fmt.Sprintf("%s > .serve%d.out 2> .serve%d.log & __serve=$!", strings.TrimSpace(cmd), s.serves, s.serves), 10*time.Second)
		s.waitServing(t)
	}
	flush()
	return out.String()
}

// waitServing waits until the running serve has printed its banner.
func (s *labShell) waitServing(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(s.serveOutput(t), "Ctrl-C stops.") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s\n%s", s.serveOutput(t), s.serveLog(t))
		}
		if alive := s.run(t, `kill -0 $__serve 2>/dev/null && echo alive || echo dead`, 10*time.Second); strings.Contains(alive, "dead") {
			t.Fatalf("serve exited:\n%s\n%s", s.serveOutput(t), s.serveLog(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopServe interrupts the running serve (Ctrl-C) and requires it to stop cleanly.
func (s *labShell) stopServe(t *testing.T) {
	t.Helper()
	if s.serves == 0 {
		return
	}
	s.run(t, `if [ -n "${__serve:-}" ]; then kill -INT $__serve; wait $__serve; __serve=; fi`, 30*time.Second)
}

func (s *labShell) serveOutput(t *testing.T) string {
	data, _ := os.ReadFile(filepath.Join(s.dir, fmt.Sprintf(".serve%d.out", s.serves)))
	return string(data)
}

func (s *labShell) serveLog(t *testing.T) string {
	data, _ := os.ReadFile(filepath.Join(s.dir, fmt.Sprintf(".serve%d.log", s.serves)))
	return string(data)
}
