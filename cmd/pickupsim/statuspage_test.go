package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/stretchr/testify/require"
)

// devtools is a page of a headless Chromium, driven over the DevTools protocol.
type devtools struct {
	t  *testing.T
	rw io.ReadWriter
	id int
}

// openInChromium starts headless Chromium on url and attaches to its page.
func openInChromium(t *testing.T, bin, url string) *devtools {
	t.Helper()
	// Not t.TempDir: Chromium's helper processes may still write there as the test ends.
	profile, err := os.MkdirTemp("", "pickupsim-chromium-")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+profile, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", url)
	// Its own process group, so the cleanup ends Chromium's helper processes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	// Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID".
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`DevTools listening on ws://([0-9.:]+)/`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var hostport string
	select {
	case hostport = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not open its DevTools port")
	}
	var wsURL string
	eventually(t, "chromium's page target", func() bool {
		res, err := http.Get("http://" + hostport + "/json/list")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		var targets []struct{ Type, URL, WebSocketDebuggerURL string }
		if json.NewDecoder(res.Body).Decode(&targets) != nil {
			return false
		}
		for _, tg := range targets {
			if tg.Type == "page" && strings.HasPrefix(tg.URL, url) {
				wsURL = tg.WebSocketDebuggerURL
				return true
			}
		}
		return false
	})
	conn, br, _, err := ws.Dial(context.Background(), wsURL)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	return &devtools{t: t, rw: struct {
		io.Reader
		io.Writer
	}{r, conn}}
}

// eval evaluates a JavaScript expression in the page and returns its value as JSON text.
func (d *devtools) eval(expr string) string {
	d.t.Helper()
	d.id++
	msg, _ := json.Marshal(map[string]any{"id": d.id, "method": "Runtime.evaluate",
		"params": map[string]any{"expression": expr, "returnByValue": true}})
	require.NoError(d.t, wsutil.WriteClientText(d.rw, msg))
	for {
		data, err := wsutil.ReadServerText(d.rw)
		require.NoError(d.t, err)
		var res struct {
			ID     int `json:"id"`
			Result struct {
				Result struct {
					Value json.RawMessage `json:"value"`
				} `json:"result"`
			} `json:"result"`
		}
		require.NoError(d.t, json.Unmarshal(data, &res))
		if res.ID == d.id {
			return string(res.Result.Result.Value)
		}
	}
}

// waitFor polls a JavaScript expression until it evaluates to want (as JSON).
func (d *devtools) waitFor(what, expr, want string) {
	d.t.Helper()
	var got string
	deadline := time.Now().Add(15 * time.Second)
	for {
		if got = d.eval(expr); got == want {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("status page: %s: %s is %s, want %s", what, expr, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStatusPageShowsAnOutageAndResiliencyModeLive(t *testing.T) {
	bin := requireTool(t, "chromium", "chromium")
	// A 3 s registrar failover timer, long enough to see it count down.
	s, api, _ := startServe(t, strings.Replace(labForTests, "registrarFailoverTimer: 1s", "registrarFailoverTimer: 3s", 1))
	bob, err := s.Network.NewPhone("bob")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = bob.Register(ctx)
	require.NoError(t, err)

	page := openInChromium(t, bin, s.AdminURL+"/")
	phase := `document.querySelector('[data-pool="pool01.contoso.com"]')?.dataset.phase ?? null`
	mode := `document.querySelector('[data-user="bob"]')?.dataset.mode ?? null`
	page.waitFor("pool01 before the outage", phase, `"normal"`)
	page.waitFor("bob before the outage", mode, `"normal"`)
	page.eval(`window.loadedOnce = "still the same page"`) // lost if the page reloads

	cmdlet(t, api, "Invoke-PoolOutage", map[string]any{"PoolFqdn": "pool01.contoso.com"})
	page.waitFor("pool01 after the outage", phase, `"outage"`)
	page.waitFor("bob signed out", mode, `"offline"`)
	// The registrar failover timer counts down on pool01's row.
	timer := `document.querySelector('[data-pool="pool01.contoso.com"] .countdown')?.textContent ?? null`
	var shown string
	require.NoError(t, json.Unmarshal([]byte(page.eval(timer)), &shown))
	require.Regexp(t, `^pool02.contoso.com takes its users in [1-3] s$`, shown)

	time.Sleep(3100 * time.Millisecond) // the timer runs out
	reg, err := bob.Register(ctx)
	require.NoError(t, err)
	p2, _ := s.Network.Pool("pool02.contoso.com")
	require.Equal(t, p2.Addr(), reg.Registrar)
	page.waitFor("bob on the backup registrar", mode, `"resiliency"`)
	page.waitFor("bob's row", `document.querySelector('[data-user="bob"]').dataset.pool`, `"pool02.contoso.com"`)
	require.Equal(t, `"still the same page"`, page.eval(`window.loadedOnce`), "the page updated without a reload")

	// Failover completes: bob is served out of resiliency mode at once, though his phone
	// was told "resiliency" and learns otherwise only at its next REGISTER.
	cmdlet(t, api, "Invoke-CsPoolFailOver", map[string]any{"PoolFqdn": "pool01", "DisasterMode": true})
	cmdlet(t, api, "Complete-PoolFailOver", map[string]any{"PoolFqdn": "pool01"})
	page.waitFor("bob after failover completed", mode, `"normal"`)
	page.waitFor("what bob's phone shows", `document.querySelector('[data-user="bob"] td:nth-child(6)').textContent`, `"resiliency"`)

	// The log is the server's: a reloaded page shows everything that happened before it.
	page.eval(`location.reload()`)
	page.waitFor("the page reloaded", `window.loadedOnce ?? null`, `null`)
	page.waitFor("bob after the reload", mode, `"normal"`)
	var log string
	require.NoError(t, json.Unmarshal([]byte(page.eval(`document.getElementById("log").innerText`)), &log))
	for _, line := range []string{
		"pool pool01.contoso.com: pool outage: normal -> outage",
		"user bob: offline -> resiliency on pool02.contoso.com",
		"pool pool01.contoso.com: failover completion: failing-over -> failed-over",
		"user bob: resiliency on pool02.contoso.com -> normal on pool02.contoso.com",
	} {
		require.Contains(t, log, line, "the page's log of changes, after a reload")
	}
}
