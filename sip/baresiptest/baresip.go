package baresiptest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Config describes one baresip phone.
type Config struct {
	// User and Domain make the phone's address of record, sip:User@Domain.
	User, Domain string
	// Proxy is "ip:port" of the phone's registrar and outbound proxy: every request the
	// phone sends goes there.
	Proxy string
	// Password answers digest challenges; empty for an open registration.
	Password string
	// IP is the address the phone binds; empty means 127.0.0.1.
	IP string
	// AutoAnswer answers every incoming call at once (answermode=auto).
	AutoAnswer bool
	// NoRegister keeps the phone from registering (an outside caller, say).
	NoRegister bool
	// ToneSeconds is how long the tone the phone sends as its microphone lasts; zero
	// means 60 s.
	ToneSeconds int
	// Extra lines for the config file.
	Extra []string
}

// Phone is a running baresip process.
type Phone struct {
	// User is the phone's user; SIPAddr where it listens for SIP ("ip:port").
	User, SIPAddr string
	// Dir is the phone's configuration folder.
	Dir string

	t    testing.TB
	cmd  *exec.Cmd
	conn net.Conn
	out  *lockedBuffer
	done chan struct{} // closed when the process exited

	mu      sync.Mutex
	events  []Event
	changed chan struct{} // closed and replaced on every new event
	waiting map[string]chan Response
	token   int
}

// Event is one event baresip reported over ctrl_tcp.
type Event struct {
	Type      string `json:"type"`  // CALL_ESTABLISHED, REGISTER_OK, CALL_RTCP, ...
	Class     string `json:"class"` // call, register, ...
	AOR       string `json:"accountaor"`
	Direction string `json:"direction"`
	PeerURI   string `json:"peeruri"`
	ID        string `json:"id"` // the call's id (its Call-ID)
	Param     string `json:"param"`
	// Raw is the whole event as baresip sent it.
	Raw map[string]any `json:"-"`
}

// Response is baresip's answer to a command.
type Response struct {
	OK   bool   `json:"ok"`
	Data string `json:"data"`
}

// Binary returns the path of baresip, or an error saying how to install it.
func Binary() (string, error) {
	path, err := exec.LookPath("baresip")
	if err != nil {
		return "", fmt.Errorf("baresip is not installed (apt-get install -y baresip-core): %w", err)
	}
	return path, nil
}

// Require returns the path of baresip. Without it the test is skipped, except in CI (the
// CI environment variable set), where interoperability tests must run: there it fails.
func Require(t testing.TB) string {
	t.Helper()
	path, err := Binary()
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI must run this test: %v (.ci/run installs it)", err)
	}
	t.Skipf("%v; CI runs this test", err)
	return ""
}

// Start runs a baresip phone for the test and waits until it takes commands (and, unless
// cfg.NoRegister, until its registration succeeded). The phone is stopped when the test
// ends; its output is logged when the test failed.
func Start(t testing.TB, cfg Config) *Phone {
	t.Helper()
	bin := Require(t)
	ph, err := start(t, bin, cfg)
	if err != nil {
		t.Fatalf("baresip %s: %v", cfg.User, err)
	}
	if !cfg.NoRegister {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ph.waitRegistered(ctx); err != nil {
			t.Fatalf("baresip %s did not register at %s: %v\n%s", cfg.User, cfg.Proxy, err, ph.Output())
		}
	}
	return ph
}

func start(t testing.TB, bin string, cfg Config) (*Phone, error) {
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if cfg.ToneSeconds == 0 {
		cfg.ToneSeconds = 60
	}
	dir := t.TempDir()
	ports, err := reservePorts(cfg.IP)
	if err != nil {
		return nil, err
	}
	if err := writeConfig(dir, cfg, ports); err != nil {
		return nil, err
	}
	ph := &Phone{
		User: cfg.User, SIPAddr: net.JoinHostPort(cfg.IP, strconv.Itoa(ports.sip)), Dir: dir, t: t,
		out: &lockedBuffer{}, done: make(chan struct{}), changed: make(chan struct{}), waiting: map[string]chan Response{},
	}
	ph.cmd = exec.Command(bin, "-f", dir)
	ph.cmd.Stdout, ph.cmd.Stderr = ph.out, ph.out
	if err := ph.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		ph.cmd.Wait()
		close(ph.done)
	}()
	t.Cleanup(func() {
		ph.stop()
		if t.Failed() {
			t.Logf("baresip %s (%s) output:\n%s", ph.User, ph.SIPAddr, ph.Output())
		}
	})
	ctrl := net.JoinHostPort(cfg.IP, strconv.Itoa(ports.ctrl))
	deadline := time.Now().Add(5 * time.Second)
	for {
		ph.conn, err = net.DialTimeout("tcp", ctrl, time.Second)
		if err == nil {
			break
		}
		select {
		case <-ph.done:
			return nil, fmt.Errorf("exited before taking commands:\n%s", ph.Output())
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("ctrl_tcp on %s never answered: %v\n%s", ctrl, err, ph.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	go ph.read()
	return ph, nil
}

// waitRegistered polls the registration state: it may succeed before the control
// connection is up, and events are only sent to connected clients.
func (ph *Phone) waitRegistered(ctx context.Context) error {
	for {
		r, err := ph.Command(ctx, "reginfo", "")
		if err != nil {
			return err
		}
		if strings.Contains(r.Data, "OK") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("reginfo: %q: %w", r.Data, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop asks baresip to quit, and kills it if it does not.
func (ph *Phone) stop() {
	if ph.conn != nil {
		ph.send(map[string]string{"command": "quit"})
	}
	select {
	case <-ph.done:
	case <-time.After(2 * time.Second):
		ph.cmd.Process.Kill()
		<-ph.done
	}
	if ph.conn != nil {
		ph.conn.Close()
	}
}

// Kill ends the process at once, like pulling the phone's cable.
func (ph *Phone) Kill() {
	ph.cmd.Process.Kill()
	<-ph.done
}

// Output returns what baresip printed so far.
func (ph *Phone) Output() string { return ph.out.String() }

// Command sends a command (a menu command without its slash: "dial", "transfer",
// "hangup", "accept", ...) with its parameters, and returns baresip's answer.
func (ph *Phone) Command(ctx context.Context, command, params string) (Response, error) {
	ph.mu.Lock()
	ph.token++
	token := strconv.Itoa(ph.token)
	ch := make(chan Response, 1)
	ph.waiting[token] = ch
	ph.mu.Unlock()
	defer func() {
		ph.mu.Lock()
		delete(ph.waiting, token)
		ph.mu.Unlock()
	}()
	if err := ph.send(map[string]string{"command": command, "params": params, "token": token}); err != nil {
		return Response{}, fmt.Errorf("%s: %s %s: %w", ph.User, command, params, err)
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ph.done:
		return Response{}, fmt.Errorf("%s: %s %s: baresip exited", ph.User, command, params)
	case <-ctx.Done():
		return Response{}, fmt.Errorf("%s: %s %s: no answer: %w", ph.User, command, params, ctx.Err())
	}
}

// Do sends a command and fails the test unless baresip accepts it.
func (ph *Phone) Do(command, params string) Response {
	ph.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := ph.Command(ctx, command, params)
	if err != nil {
		ph.t.Fatal(err)
	}
	if !r.OK {
		ph.t.Fatalf("%s: %s %s refused: %s", ph.User, command, params, r.Data)
	}
	return r
}

// Mark returns the number of events seen so far, for WaitEvent to look only at later ones.
func (ph *Phone) Mark() int {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return len(ph.events)
}

// Events returns every event seen so far.
func (ph *Phone) Events() []Event {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return append([]Event(nil), ph.events...)
}

// WaitEvent waits for the first event from index since on (see Mark) that match accepts.
func (ph *Phone) WaitEvent(ctx context.Context, since int, match func(Event) bool) (Event, error) {
	for {
		ph.mu.Lock()
		for i := since; i < len(ph.events); i++ {
			if match(ph.events[i]) {
				e := ph.events[i]
				ph.mu.Unlock()
				return e, nil
			}
		}
		since = len(ph.events)
		changed := ph.changed
		ph.mu.Unlock()
		select {
		case <-changed:
		case <-ph.done:
			return Event{}, fmt.Errorf("%s: baresip exited", ph.User)
		case <-ctx.Done():
			return Event{}, fmt.Errorf("%s: %w (events: %s)", ph.User, ctx.Err(), ph.eventTypes())
		}
	}
}

// Is matches events of one of the given types.
func Is(types ...string) func(Event) bool {
	return func(e Event) bool {
		for _, t := range types {
			if e.Type == t {
				return true
			}
		}
		return false
	}
}

func (ph *Phone) eventTypes() string {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	var names []string
	for _, e := range ph.events {
		names = append(names, e.Type)
	}
	return strings.Join(names, " ")
}

// send writes one netstring-framed JSON message.
func (ph *Phone) send(msg map[string]string) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	ph.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_, err = fmt.Fprintf(ph.conn, "%d:%s,", len(b), b)
	return err
}

// read takes netstrings off the control connection until it closes.
func (ph *Phone) read() {
	r := bufio.NewReader(ph.conn)
	for {
		msg, err := readNetstring(r)
		if err != nil {
			return
		}
		var head struct {
			Event    bool   `json:"event"`
			Response bool   `json:"response"`
			Token    string `json:"token"`
		}
		if json.Unmarshal(msg, &head) != nil {
			continue
		}
		switch {
		case head.Event:
			var e Event
			json.Unmarshal(msg, &e)
			json.Unmarshal(msg, &e.Raw)
			ph.mu.Lock()
			ph.events = append(ph.events, e)
			close(ph.changed)
			ph.changed = make(chan struct{})
			ph.mu.Unlock()
		case head.Response:
			var res Response
			json.Unmarshal(msg, &res)
			ph.mu.Lock()
			ch := ph.waiting[head.Token]
			ph.mu.Unlock()
			if ch != nil {
				ch <- res
			}
		}
	}
}

// readNetstring reads "LEN:DATA,".
func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("bad netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("netstring without its comma")
	}
	return buf[:n], nil
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// writeConfig writes the phone's config, accounts and tone file into dir.
func writeConfig(dir string, cfg Config, p portBlock) error {
	tone := filepath.Join(dir, "tone.wav")
	if err := os.WriteFile(tone, toneWAV(cfg.ToneSeconds), 0o644); err != nil {
		return err
	}
	audioPath := filepath.Join(dir, "sounds") // empty: no ring-back tone holds the device
	if err := os.Mkdir(audioPath, 0o755); err != nil {
		return err
	}
	lines := []string{
		"poll_method epoll",
		"module_path /usr/lib/baresip/modules",
		fmt.Sprintf("sip_listen %s:%d", cfg.IP, p.sip),
		"net_interface " + cfg.IP,
		fmt.Sprintf("rtp_ports %d-%d", p.rtpLow, p.rtpHigh),
		"audio_path " + audioPath,
		"audio_player aubridge,null-" + cfg.User,
		"audio_source aufile," + tone,
		"audio_alert aubridge,null-" + cfg.User,
		"call_max_calls 4",
		"module g711.so",
		"module aubridge.so",
		"module aufile.so",
		"module_tmp account.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
		fmt.Sprintf("ctrl_tcp_listen %s:%d", cfg.IP, p.ctrl),
	}
	lines = append(lines, cfg.Extra...)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	account := fmt.Sprintf("<sip:%s@%s>;outbound=\"sip:%s\";audio_codecs=PCMU", cfg.User, cfg.Domain, cfg.Proxy)
	if cfg.Password != "" {
		account += ";auth_pass=" + cfg.Password
	}
	if cfg.AutoAnswer {
		account += ";answermode=auto"
	}
	if cfg.NoRegister {
		account += ";regint=0"
	} else {
		account += ";regint=600"
	}
	return os.WriteFile(filepath.Join(dir, "accounts"), []byte(account+"\n"), 0o644)
}
