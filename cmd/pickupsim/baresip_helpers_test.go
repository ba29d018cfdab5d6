package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/baresiptest"
)

// softphone is one baresip softphone of a test, with the lines (accounts) it was given.
type softphone struct {
	*baresiptest.UA
	t     *testing.T
	name  string
	lines []string
}

// startPhone runs baresip for user name, with no account yet: lines are added with
// addLine once ctrl_tcp is connected, so no registration event is missed.
func startPhone(t *testing.T, ctx context.Context, bin, name string) *softphone {
	t.Helper()
	cfg, err := baresiptest.FreeDir(filepath.Join(t.TempDir(), name))
	require.NoError(t, err)
	ua, err := baresiptest.Run(ctx, bin, cfg)
	require.NoError(t, err, name)
	p := &softphone{UA: ua, t: t, name: name}
	t.Cleanup(func() {
		out := ua.Close()
		if t.Failed() {
			t.Logf("baresip %s (%s) output:\n%s\nevents:%s", name, cfg, out, ua.EventLog())
		}
	})
	return p
}

// account is the account line of user on outbound proxy (a pool's address), as the
// README's Lab section gives it.
func account(user, proxy, answermode string) string {
	return fmt.Sprintf(`<sip:%s@contoso.com>;regint=600;outbound="sip:%s";answermode=%s;audio_codecs=PCMU`, user, proxy, answermode)
}

// addLine creates a user agent (a line) for an account; it registers at once.
func (p *softphone) addLine(ctx context.Context, line string) {
	p.t.Helper()
	_, err := p.Command(ctx, "uanew", line)
	require.NoError(p.t, err, "%s: uanew", p.name)
	p.lines = append(p.lines, line)
}

// event waits for an event of type typ (and whose param contains param, if given).
func (p *softphone) event(ctx context.Context, typ, param string) baresiptest.Event {
	p.t.Helper()
	e, err := p.WaitEvent(ctx, p.name+" "+typ+" "+param, func(e baresiptest.Event) bool {
		return e.Type == typ && strings.Contains(e.Param, param)
	})
	require.NoError(p.t, err)
	return e
}

// do runs a ctrl_tcp command.
func (p *softphone) do(ctx context.Context, command, params string) string {
	p.t.Helper()
	r, err := p.Command(ctx, command, params)
	require.NoError(p.t, err, "%s: %s %s", p.name, command, params)
	return r.Data
}

var (
	ansi    = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	uaLine  = regexp.MustCompile(`^([> ]) (sip:\S+)\s+(OK|ERR|zzz)`)
	txCount = regexp.MustCompile(`TX: packets=(\d+)`)
	rxCount = regexp.MustCompile(`rcvd=(\d+)`)
	audDir  = regexp.MustCompile(`audio dir=(\w+)`)
)

// lineStates reads `reginfo`: each line's registration state (OK, ERR, zzz), in the
// order the lines were created, and which one is current (dials, holds, transfers).
func (p *softphone) lineStates(ctx context.Context) (states []string, current int) {
	p.t.Helper()
	current = -1
	for _, l := range strings.Split(ansi.ReplaceAllString(p.do(ctx, "reginfo", ""), ""), "\n") {
		if m := uaLine.FindStringSubmatch(strings.TrimRight(l, " ")); m != nil {
			if m[1] == ">" {
				current = len(states)
			}
			states = append(states, m[3])
		}
	}
	return states, current
}

// useLine makes line i current: baresip 1.0.0 has one current user agent, which `dial`
// and the in-call commands use, and `uanext` steps through them in order.
func (p *softphone) useLine(ctx context.Context, i int) {
	p.t.Helper()
	for range len(p.lines) + 1 {
		if _, cur := p.lineStates(ctx); cur == i {
			return
		}
		p.do(ctx, "uanext", "")
	}
	states, cur := p.lineStates(ctx)
	p.t.Fatalf("%s: cannot make line %d current (lines %v, current %d)", p.name, i, states, cur)
}

// waitLine waits until line i's registration is in state (OK or ERR).
func (p *softphone) waitLine(ctx context.Context, i int, state string) {
	p.t.Helper()
	for {
		states, _ := p.lineStates(ctx)
		if i < len(states) && states[i] == state {
			return
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("%s: line %d never %s (lines %v)%s", p.name, i, state, states, p.EventLog())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// media reads the current call's RTP counters (`audio_debug`): packets sent, packets
// received from the peer, and the stream's direction.
func (p *softphone) media(ctx context.Context) (tx, rx int, dir string) {
	p.t.Helper()
	out := p.do(ctx, "audio_debug", "")
	if m := txCount.FindStringSubmatch(out); m != nil {
		tx, _ = strconv.Atoi(m[1])
	}
	if m := rxCount.FindStringSubmatch(out); m != nil {
		rx, _ = strconv.Atoi(m[1])
	}
	if m := audDir.FindStringSubmatch(out); m != nil {
		dir = m[1]
	}
	return tx, rx, dir
}

// mediaFlows requires RTP to flow both ways at p's current call: over 1 s, p sends and
// receives at least 25 packets (G.711 at 20 ms is 50 a second).
func (p *softphone) mediaFlows(ctx context.Context, what string) {
	p.t.Helper()
	// A new call's media starts a moment after it is established (aufile loads its WAV).
	tx0, rx0, _ := p.media(ctx)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		tx, rx, _ := p.media(ctx)
		if tx > tx0 && rx > rx0 {
			tx0, rx0 = tx, rx
			break
		}
	}
	time.Sleep(time.Second)
	tx1, rx1, dir := p.media(ctx)
	require.GreaterOrEqual(p.t, tx1-tx0, 25, "%s: %s sends RTP (dir %s)", what, p.name, dir)
	require.GreaterOrEqual(p.t, rx1-rx0, 25, "%s: %s receives RTP (dir %s)", what, p.name, dir)
}

// rtcpReceived waits for an RTCP report (CALL_RTCP, every 5 s or so) of call id that
// counts more than `more` packets received from the peer, and returns the count. It reads
// a call that is not the phone's current one.
func (p *softphone) rtcpReceived(ctx context.Context, id string, more int) int {
	p.t.Helper()
	e, err := p.WaitEvent(ctx, fmt.Sprintf("%s: RTCP report of call %s with more than %d packets received", p.name, id, more),
		func(e baresiptest.Event) bool {
			return e.Type == "CALL_RTCP" && e.ID == id && e.RTCP != nil && e.RTCP.RX.Sent > more
		})
	require.NoError(p.t, err)
	return e.RTCP.RX.Sent
}

// groupOnPool01 starts baresip as alice, bob and carol with a line each on the pool at
// addr: bob answers by hand (his call rings, to be picked up), the others at once.
func groupOnPool01(t *testing.T, ctx context.Context, bin, addr string) (alice, bob, carol *softphone) {
	t.Helper()
	alice, bob, carol = startPhone(t, ctx, bin, "alice"), startPhone(t, ctx, bin, "bob"), startPhone(t, ctx, bin, "carol")
	alice.addLine(ctx, account("alice", addr, "auto"))
	bob.addLine(ctx, account("bob", addr, "manual"))
	carol.addLine(ctx, account("carol", addr, "auto"))
	return alice, bob, carol
}
