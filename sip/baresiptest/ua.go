package baresiptest

// The ctrl_tcp driver: a baresip process started on a configuration directory (Dir), its
// control connection, and the events it reports.

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
	"strconv"
	"strings"
	"sync"
	"time"
)

// Event is one event baresip reports (ctrl_tcp "event": true messages).
type Event struct {
	Type       string `json:"type"`  // CALL_ESTABLISHED, REGISTER_OK, CALL_RTCP, ...
	Class      string `json:"class"` // call, register, ...
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
	// Raw is the whole event as baresip sent it.
	Raw map[string]any `json:"-"`
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
	Dir  Dir
	cmd  *exec.Cmd
	out  *syncBuffer
	conn net.Conn
	done chan struct{}
	exit error

	writeMu sync.Mutex
	mu      sync.Mutex
	events  []Event
	taken   []bool
	resps   map[string]chan Response
	next    int
	notify  chan struct{}
	readErr error
}

// Run runs `bin -f dir.Path` after writing the configuration, and connects to ctrl_tcp.
// The process ends with Close or when ctx ends.
func Run(ctx context.Context, bin string, dir Dir) (*UA, error) {
	if err := dir.Write(); err != nil {
		return nil, err
	}
	u := &UA{Dir: dir, out: &syncBuffer{}, done: make(chan struct{}), resps: map[string]chan Response{}, notify: make(chan struct{})}
	u.cmd = exec.CommandContext(ctx, bin, "-f", dir.Path)
	u.cmd.Stdout, u.cmd.Stderr = u.out, u.out
	u.cmd.WaitDelay = 2 * time.Second
	if err := u.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { u.exit = u.cmd.Wait(); close(u.done) }()
	addr := net.JoinHostPort(ipOr(dir.IP), strconv.Itoa(dir.CtrlPort))
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

// Kill ends the process at once, like pulling the phone's cable.
func (u *UA) Kill() {
	u.cmd.Process.Kill()
	<-u.done
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
// already happened. (WaitEventSince looks at events without taking them.)
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

// WaitEventSince waits for the first event from index since on (see Mark) that match
// accepts, taken or not.
func (u *UA) WaitEventSince(ctx context.Context, since int, match func(Event) bool) (Event, error) {
	for {
		u.mu.Lock()
		for i := since; i < len(u.events); i++ {
			if match(u.events[i]) {
				e := u.events[i]
				u.mu.Unlock()
				return e, nil
			}
		}
		since = len(u.events)
		notify, readErr := u.notify, u.readErr
		u.mu.Unlock()
		if readErr != nil {
			return Event{}, fmt.Errorf("ctrl_tcp closed: %w; events: %s", readErr, u.EventLog())
		}
		select {
		case <-notify:
		case <-u.done:
			return Event{}, fmt.Errorf("baresip exited (%v); events: %s", u.exit, u.EventLog())
		case <-ctx.Done():
			return Event{}, fmt.Errorf("%w; events so far: %s", ctx.Err(), u.EventLog())
		}
	}
}

// Mark returns the number of events seen so far, for WaitEventSince to look only at later
// ones.
func (u *UA) Mark() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.events)
}

// Type matches events of one type.
func Type(t string) func(Event) bool { return Is(t) }

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
			json.Unmarshal(msg, &e.Raw)
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
	n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
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
