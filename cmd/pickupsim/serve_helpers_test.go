package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/cmd/pickupsim/internal/admin"
)

// labForTests is the built-in lab topology on free loopback ports, with a 1 s registrar
// failover timer so an outage reaches the backup registrar quickly.
const labForTests = `domain: contoso.com
registrarFailoverTimer: 1s
pools:
  - {fqdn: pool01.contoso.com, backup: pool02.contoso.com}
  - {fqdn: pool02.contoso.com, backup: pool01.contoso.com}
users:
  - {name: alice, home: pool01}
  - {name: bob, home: pool01, pickup: 100}
  - {name: carol, home: pool01, pickup: 100}
  - {name: erin, home: pool02}
orbits:
  - {identity: pickup-pool01, start: 100, end: 199, service: pool01, type: GroupPickup}
  - {identity: park-pool01, start: 7000, end: 7099, service: pool01, type: CallPark}
`

// syncBuffer is a bytes.Buffer safe for the server's logger and the test to share.
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

// startServe runs `pickupsim serve --topology FILE --admin 127.0.0.1:0` in-process until
// the test ends, and returns what it serves. with changes further flags.
func startServe(t *testing.T, topo string, with ...func(*serveFlags)) (served, *admin.Client, *syncBuffer) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "lab.yaml")
	require.NoError(t, os.WriteFile(file, []byte(topo), 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan served, 1)
	done := make(chan error, 1)
	out, logs := &syncBuffer{}, &syncBuffer{}
	flags := serveFlags{topology: file, admin: "127.0.0.1:0", logFormat: "json", logLevel: "info"}
	for _, w := range with {
		w(&flags)
	}
	go func() { done <- serve(ctx, out, logs, flags, func(s served) { ready <- s }) }()
	var s served
	select {
	case s = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
		if t.Failed() {
			t.Logf("serve output:\n%s\nlogs:\n%s", out.String(), logs.String())
		}
	})
	return s, &admin.Client{Base: s.AdminURL}, logs
}

func cmdlet(t *testing.T, c *admin.Client, name string, params map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Run(ctx, name, params)
	require.NoError(t, err, name)
}

// eventually polls cond every 20 ms for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
