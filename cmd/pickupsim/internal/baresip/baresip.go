// Package baresip runs the baresip softphone (Debian baresip-core 1.0.0), unmodified, as a
// real SIP client for interoperability tests, and drives it over its ctrl_tcp module:
// netstring-framed JSON commands in, JSON responses and events out.
//
// It is generic: start a user agent with a config directory, send a command, wait for an
// event. What a test does with a phone (register, dial, transfer, check RTP) is the test's.
package baresip

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
	"time"
)

// ModulePath is where Debian's baresip-core installs its modules.
const ModulePath = "/usr/lib/baresip/modules"

// Config is one phone's baresip configuration directory.
type Config struct {
	// Dir is the configuration directory (baresip -f DIR); it is created if missing.
	Dir string
	// IP is the loopback address the phone binds; empty means 127.0.0.1.
	IP string
	// SIPPort is the SIP port (UDP and TCP). baresip also binds SIPPort+1 for TLS, so two
	// phones need SIP ports at least 2 apart.
	SIPPort int
	// CtrlPort is the ctrl_tcp port.
	CtrlPort int
	// RTPPorts is the phone's RTP (and RTCP, the next port) range.
	RTPPorts [2]int
	// Accounts are account lines, written to the accounts file and registered at start.
	// Tests usually leave it empty and add accounts with the "uanew" command once
	// connected, so that no registration event is missed (and see mwi.so below).
	Accounts []string
	// Extra config lines, appended after the defaults (a later line wins).
	Extra []string
}

// Lines returns the config file's lines: loopback only, G.711, no sound card (aubridge
// as player, a WAV file as each call's source), an empty audio_path (no ring-back tone,
// whose playback would hold the audio device: one-way RTP after answer), ctrl_tcp on.
func (c Config) Lines() []string {
	ip := c.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	sound := filepath.Join(c.Dir, "sound")
	lines := []string{
		"poll_method epoll",
		"module_path " + ModulePath,
		fmt.Sprintf("sip_listen %s:%d", ip, c.SIPPort),
		"net_interface " + ip,
		fmt.Sprintf("rtp_ports %d-%d", c.RTPPorts[0], c.RTPPorts[1]),
		"rtcp_mux no",
		"audio_path " + sound,
		"audio_player aubridge,play-" + strconv.Itoa(c.SIPPort),
		"audio_source aufile," + filepath.Join(sound, "tone.wav"),
		"audio_alert aubridge,alert-" + strconv.Itoa(c.SIPPort),
		"module g711.so",
		"module aubridge.so",
		"module aufile.so",
		"module_tmp account.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
		// The mwi module subscribes to message-summary when a line registers. In 1.0.0 its
		// start-up timer loops forever (a SUBSCRIBE storm) if a line registered before it
		// fired, which Accounts given at start can do; lines added by "uanew" cannot.
		"module_app mwi.so",
		fmt.Sprintf("ctrl_tcp_listen %s:%d", ip, c.CtrlPort),
	}
	return append(lines, c.Extra...)
}

// Write creates the configuration directory: config, accounts, and an 8 kHz tone the
// phone sends as its voice.
func (c Config) Write() error {
	sound := filepath.Join(c.Dir, "sound")
	if err := os.MkdirAll(sound, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "config"), []byte(strings.Join(c.Lines(), "\n")+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "accounts"), []byte(strings.Join(c.Accounts, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	// aufile plays the WAV once and baresip ends the call at its end: 4 minutes outlast any
	// test call. 8 kHz mono PCM, as G.711 needs.
	return os.WriteFile(filepath.Join(sound, "tone.wav"), toneWAV(8000, 4*time.Minute, 400), 0o644)
}

// Event is one event baresip reports (ctrl_tcp "event": true messages).
type Event struct {
	Type       string `json:"type"`
	Class      string `json:"class"`
	AccountAOR string `json:"accountaor"`
	Direction  string `json:"direction"`
	PeerURI    string `json:"peeruri"`
	ID         string `json:"id"` // the call's Call-ID
	Param      string `json:"param"`
	RTCP       *struct {
		TX struct {
			Sent int `json:"sent"`
			Lost int `json:"lost"`
		} `json:"tx"`
		RX struct {
			Sent int `json:"sent"` // packets received from the peer
			Lost int `json:"lost"`
		} `json:"rx"`
	} `json:"rtcp_stats"`
	// At is when the event arrived.
	At time.Time `json:"-"`
}

func (e Event) String() string {
	s := e.Type
	if e.PeerURI != "" {
		s += " " + e.Direction + " " + e.PeerURI
	}
	if e.Param != "" {
		s += " (" + e.Param + ")"
	}
	if e.RTCP != nil {
		s += fmt.Sprintf(" rtcp tx.sent=%d rx.sent=%d", e.RTCP.TX.Sent, e.RTCP.RX.Sent)
	}
	return s
}

// Response is baresip's answer to a command.
type Response struct {
	OK    bool   `json:"ok"`
	Data  string `json:"data"`
	Token string `json:"token"`
}

// UA is a running baresip process and its ctrl_tcp connection.
type UA struct {
	Config Config
	cmd    *exec.Cmd
	out    *syncBuffer
	conn   net.Conn
	done   chan struct{}
	exit   error

	writeMu sync.Mutex
	mu      sync.Mutex
	events  []Event
	taken   []bool
	resps   map[string]chan Response
	next    int
	notify  chan struct{}
	readErr error
}

// Start runs `bin -f cfg.Dir` after writing the configuration, and connects to ctrl_tcp.
// The process ends with Close or when ctx ends.
func Start(ctx context.Context, bin string, cfg Config) (*UA, error) {
	if err := cfg.Write(); err != nil {
		return nil, err
	}
	u := &UA{Config: cfg, out: &syncBuffer{}, done: make(chan struct{}), resps: map[string]chan Response{}, notify: make(chan struct{})}
	u.cmd = exec.CommandContext(ctx, bin, "-f", cfg.Dir)
	u.cmd.Stdout, u.cmd.Stderr = u.out, u.out
	u.cmd.WaitDelay = 2 * time.Second
	if err := u.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { u.exit = u.cmd.Wait(); close(u.done) }()
	addr := net.JoinHostPort(ipOr(cfg.IP), strconv.Itoa(cfg.CtrlPort))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			u.conn = c
			break
		}
		select {
		case <-u.done:
			return nil, fmt.Errorf("baresip exited before ctrl_tcp listened (%v):\n%s", u.exit, u.out.String())
		default:
		}
		if time.Now().After(deadline) {
			u.Close()
			return nil, fmt.Errorf("ctrl_tcp %s: %w\n%s", addr, err, u.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	go u.read()
	return u, nil
}

func ipOr(ip string) string {
	if ip == "" {
		return "127.0.0.1"
	}
	return ip
}

// Close ends the process (SIGTERM, then kill) and returns its output.
func (u *UA) Close() string {
	if u.conn != nil {
		u.conn.Close()
	}
	if u.cmd.Process != nil {
		select {
		case <-u.done:
		default:
			u.cmd.Process.Signal(os.Interrupt)
			select {
			case <-u.done:
			case <-time.After(3 * time.Second):
				u.cmd.Process.Kill()
				<-u.done
			}
		}
	}
	return u.out.String()
}

// Output is what the process printed so far.
func (u *UA) Output() string { return u.out.String() }

// Command sends a ctrl_tcp command ("dial", "transfer", "uanew", ...) with its parameter
// text and waits for the response. A response with ok=false is an error.
func (u *UA) Command(ctx context.Context, command, params string) (Response, error) {
	u.mu.Lock()
	u.next++
	token := "t" + strconv.Itoa(u.next)
	ch := make(chan Response, 1)
	u.resps[token] = ch
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		delete(u.resps, token)
		u.mu.Unlock()
	}()
	msg := map[string]string{"command": command, "token": token}
	if params != "" {
		msg["params"] = params
	}
	body, _ := json.Marshal(msg)
	u.writeMu.Lock()
	_, err := fmt.Fprintf(u.conn, "%d:%s,", len(body), body)
	u.writeMu.Unlock()
	if err != nil {
		return Response{}, fmt.Errorf("baresip %s: %w", command, err)
	}
	select {
	case r := <-ch:
		if !r.OK {
			return r, fmt.Errorf("baresip %s %s: refused: %s", command, params, strings.TrimSpace(r.Data))
		}
		return r, nil
	case <-ctx.Done():
		return Response{}, fmt.Errorf("baresip %s %s: no response: %w", command, params, ctx.Err())
	case <-u.done:
		return Response{}, fmt.Errorf("baresip %s %s: process exited (%v)", command, params, u.exit)
	}
}

// WaitEvent waits for the first event not taken yet that match accepts, and takes it.
// Events arrive in order and stay until taken, so a test can wait for an event that has
// already happened.
func (u *UA) WaitEvent(ctx context.Context, what string, match func(Event) bool) (Event, error) {
	for {
		u.mu.Lock()
		for i, e := range u.events {
			if !u.taken[i] && match(e) {
				u.taken[i] = true
				u.mu.Unlock()
				return e, nil
			}
		}
		notify, readErr := u.notify, u.readErr
		u.mu.Unlock()
		if readErr != nil {
			return Event{}, fmt.Errorf("waiting for %s: ctrl_tcp closed: %w; events: %s", what, readErr, u.EventLog())
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return Event{}, fmt.Errorf("waiting for %s: %w; events so far: %s", what, ctx.Err(), u.EventLog())
		}
	}
}

// Type matches events of one type.
func Type(t string) func(Event) bool { return func(e Event) bool { return e.Type == t } }

// Events returns every event received so far.
func (u *UA) Events() []Event {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Event(nil), u.events...)
}

// EventLog lists the events received so far, for failure messages.
func (u *UA) EventLog() string {
	var b strings.Builder
	for _, e := range u.Events() {
		if e.Type == "CALL_RTCP" || strings.HasPrefix(e.Type, "VU_") {
			continue
		}
		fmt.Fprintf(&b, "\n  %s %s", e.At.Format("15:04:05.000"), e)
	}
	return b.String()
}

func (u *UA) read() {
	r := bufio.NewReader(u.conn)
	var err error
	for {
		var msg []byte
		msg, err = readNetstring(r)
		if err != nil {
			break
		}
		var kind struct {
			Event    bool `json:"event"`
			Response bool `json:"response"`
		}
		if json.Unmarshal(msg, &kind) != nil {
			continue
		}
		u.mu.Lock()
		switch {
		case kind.Response:
			var res Response
			json.Unmarshal(msg, &res)
			if ch, ok := u.resps[res.Token]; ok {
				ch <- res
			}
		case kind.Event:
			var e Event
			json.Unmarshal(msg, &e)
			e.At = time.Now()
			u.events = append(u.events, e)
			u.taken = append(u.taken, false)
		}
		close(u.notify)
		u.notify = make(chan struct{})
		u.mu.Unlock()
	}
	u.mu.Lock()
	u.readErr = err
	close(u.notify)
	u.notify = make(chan struct{})
	u.mu.Unlock()
}

// readNetstring reads one "<len>:<data>," frame.
func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(head[:len(head)-1])
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("bad netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("netstring not terminated by ','")
	}
	return buf[:n], nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
