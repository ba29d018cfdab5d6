// Package browsertest drives a headless Chromium over the DevTools protocol, for tests
// that check a page as a person sees it: the HTML report's ladder, serve's status page.
package browsertest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
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
)

// Chromium returns the path of Debian's chromium. Outside CI a missing browser skips the
// test; in CI (CI set) it fails it: .ci/run installs chromium, and pages must be checked.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("chromium is not installed, and CI must check pages in it (apt-get install -y chromium; .ci/run does)")
	}
	t.Skipf("chromium is not installed (apt-get install -y chromium); CI runs this test")
	return ""
}

// Page is a page of a headless Chromium, driven over the DevTools protocol.
type Page struct {
	t  testing.TB
	rw io.ReadWriter
	id int
}

// Open starts headless Chromium with a window of width x height on url, attaches to its
// page, and stops the browser when the test ends.
func Open(t testing.TB, bin, url string, width, height int) *Page {
	t.Helper()
	// Not t.TempDir: Chromium's helper processes may still write there as the test ends.
	profile, err := os.MkdirTemp("", "pickupsim-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--disable-dev-shm-usage", fmt.Sprintf("--window-size=%d,%d", width, height),
		"--user-data-dir="+profile, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", url)
	// Its own process group, so the cleanup ends Chromium's helper processes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
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
	wsURL := pageTarget(t, hostport, url)
	conn, br, _, err := ws.Dial(context.Background(), wsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	return &Page{t: t, rw: struct {
		io.Reader
		io.Writer
	}{r, conn}}
}

// pageTarget polls the browser's list of targets until the page on url is there, and
// returns its DevTools WebSocket URL.
func pageTarget(t testing.TB, hostport, url string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if res, err := http.Get("http://" + hostport + "/json/list"); err == nil {
			var targets []struct{ Type, URL, WebSocketDebuggerURL string }
			err = json.NewDecoder(res.Body).Decode(&targets)
			res.Body.Close()
			for _, tg := range targets {
				if err == nil && tg.Type == "page" && strings.HasPrefix(tg.URL, url) {
					return tg.WebSocketDebuggerURL
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromium shows no page on %s", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// call sends one DevTools command and returns its result, skipping the events the page
// sends meanwhile.
func (p *Page) call(method string, params any) json.RawMessage {
	p.t.Helper()
	p.id++
	msg, _ := json.Marshal(map[string]any{"id": p.id, "method": method, "params": params})
	if err := wsutil.WriteClientText(p.rw, msg); err != nil {
		p.t.Fatalf("devtools %s: %v", method, err)
	}
	for {
		data, err := wsutil.ReadServerText(p.rw)
		if err != nil {
			p.t.Fatalf("devtools %s: %v", method, err)
		}
		var res struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(data, &res); err != nil {
			p.t.Fatalf("devtools %s: %v", method, err)
		}
		if res.ID != p.id {
			continue // an event, or the answer to a command given up on
		}
		if res.Error != nil {
			p.t.Fatalf("devtools %s: %s", method, res.Error.Message)
		}
		return res.Result
	}
}

// Eval evaluates a JavaScript expression in the page and returns its value as JSON text.
func (p *Page) Eval(expr string) string {
	p.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(p.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}), &res); err != nil {
		p.t.Fatal(err)
	}
	if e := res.ExceptionDetails; e != nil {
		p.t.Fatalf("evaluating %s: %s %s", expr, e.Text, e.Exception.Description)
	}
	return string(res.Result.Value)
}

// WaitFor polls a JavaScript expression until it evaluates to want (as JSON).
func (p *Page) WaitFor(what, expr, want string) {
	p.t.Helper()
	var got string
	deadline := time.Now().Add(15 * time.Second)
	for {
		if got = p.Eval(expr); got == want {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: %s is %s, want %s", what, expr, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Rect is an area of the page, in CSS pixels from its top left corner.
type Rect struct{ X, Y, Width, Height float64 }

// Screenshot returns a PNG of the area of the page, laid out as it is, beyond the window
// if the area reaches past it.
func (p *Page) Screenshot(area Rect) []byte {
	p.t.Helper()
	var res struct{ Data string }
	raw := p.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": area.X, "y": area.Y, "width": area.Width, "height": area.Height, "scale": 1}})
	if err := json.Unmarshal(raw, &res); err != nil {
		p.t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		p.t.Fatal(err)
	}
	return png
}
