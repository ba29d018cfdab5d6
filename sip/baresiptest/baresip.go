package baresiptest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Config describes one registered baresip phone of a test (Start).
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

// Account is the account line of cfg: its address of record, outbound proxy, G.711, and
// how it answers and registers.
func (cfg Config) Account() string {
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
	return account
}

// Phone is a baresip process of a test with one account, given at start.
type Phone struct {
	// User is the phone's user; SIPAddr where it listens for SIP ("ip:port").
	User, SIPAddr string
	// Dir is the phone's configuration folder.
	Dir string

	t  testing.TB
	ua *UA
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
	dir, err := freeDir(t.TempDir(), cfg.IP)
	if err != nil {
		return nil, err
	}
	dir.Accounts = []string{cfg.Account()}
	dir.Tone = time.Duration(cfg.ToneSeconds) * time.Second
	dir.Extra = cfg.Extra
	ua, err := Run(context.Background(), bin, dir)
	if err != nil {
		return nil, err
	}
	ph := &Phone{User: cfg.User, SIPAddr: net.JoinHostPort(cfg.IP, strconv.Itoa(dir.SIPPort)), Dir: dir.Path, t: t, ua: ua}
	t.Cleanup(func() {
		out := ua.Close()
		if t.Failed() {
			t.Logf("baresip %s (%s) output:\n%s", ph.User, ph.SIPAddr, out)
		}
	})
	return ph, nil
}

// waitRegistered polls the registration state: it may succeed before the control
// connection is up, and events are only sent to connected clients.
func (ph *Phone) waitRegistered(ctx context.Context) error {
	for {
		r, err := ph.ua.Command(ctx, "reginfo", "")
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

// Kill ends the process at once, like pulling the phone's cable.
func (ph *Phone) Kill() { ph.ua.Kill() }

// Output returns what baresip printed so far.
func (ph *Phone) Output() string { return ph.ua.Output() }

// Command sends a command (a menu command without its slash: "dial", "transfer",
// "hangup", "accept", ...) with its parameters, and returns baresip's answer; a refusal
// is an error.
func (ph *Phone) Command(ctx context.Context, command, params string) (Response, error) {
	r, err := ph.ua.Command(ctx, command, params)
	if err != nil {
		return r, fmt.Errorf("%s: %w", ph.User, err)
	}
	return r, nil
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
	return r
}

// Mark returns the number of events seen so far, for WaitEvent to look only at later ones.
func (ph *Phone) Mark() int { return ph.ua.Mark() }

// Events returns every event seen so far.
func (ph *Phone) Events() []Event { return ph.ua.Events() }

// WaitEvent waits for the first event from index since on (see Mark) that match accepts.
func (ph *Phone) WaitEvent(ctx context.Context, since int, match func(Event) bool) (Event, error) {
	e, err := ph.ua.WaitEventSince(ctx, since, match)
	if err != nil {
		return e, fmt.Errorf("%s: %w", ph.User, err)
	}
	return e, nil
}
