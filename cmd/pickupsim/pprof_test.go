package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeProfilesOnLoopback: `serve --pprof 127.0.0.1:0` prints where Go's runtime
// profiles are, and the heap profile there carries the memory statistics a benchmark
// samples; an address off loopback is refused before anything starts.
func TestServeProfilesOnLoopback(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lab.yaml")
	require.NoError(t, os.WriteFile(file, []byte(labForTests), 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, out, io.Discard, serveFlags{topology: file, admin: "127.0.0.1:0", logFormat: "text", logLevel: "error", pprof: "127.0.0.1:0"},
			func(served) { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	m := regexp.MustCompile(`pprof +(http://127\.0\.0\.1:\d+/debug/pprof/)`).FindStringSubmatch(out.String())
	require.NotNil(t, m, "serve's output names the pprof address:\n%s", out.String())
	res, err := http.Get(m[1] + "heap?debug=1")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(body), "# HeapAlloc = ")
	res, err = http.Get(strings.TrimSuffix(m[1], "pprof/") + "vars")
	require.NoError(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	assert.Contains(t, string(body), `"HeapInuse":`, "the memory statistics a benchmark samples during a storm")
	cancel()
	require.NoError(t, <-done)

	err = serve(context.Background(), io.Discard, io.Discard, serveFlags{topology: file, admin: "127.0.0.1:0", logFormat: "text", logLevel: "error", pprof: "0.0.0.0:0"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "loopback address only")
}
