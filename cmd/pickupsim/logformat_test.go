package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildPickupsim builds the command into a temporary folder, as `go build` does for a user.
func buildPickupsim(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pickupsim")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// With --log-format json every line the real binary logs is JSON, the SIP stack's own
// lines included (sipgo's parser, transports, unhandled methods), and enumerations are
// words: an INVITE's route is "to-user", not 2.
func TestServeLogsEveryLineAsJSONInWords(t *testing.T) {
	bin := buildPickupsim(t)
	topo := filepath.Join(t.TempDir(), "lab.yaml")
	require.NoError(t, os.WriteFile(topo, []byte(labForTests), 0o644))
	cmd := exec.Command(bin, "serve", "--topology", topo, "--admin", "127.0.0.1:0", "--log-format", "json")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	var pool string
	eventually(t, "serve to print its pools", func() bool {
		m := regexp.MustCompile(`pool pool01.contoso.com\s+sip:(\S+) `).FindStringSubmatch(stdout.String())
		if m != nil {
			pool = m[1]
		}
		return m != nil
	})
	conn, err := net.Dial("udp", pool)
	require.NoError(t, err)
	defer conn.Close()
	local := conn.LocalAddr().String()
	send := func(msg string) {
		_, err := conn.Write([]byte(strings.ReplaceAll(msg, "\n", "\r\n")))
		require.NoError(t, err)
	}
	send("this is not SIP\n\n")                                                           // sipgo's parser complains
	send(request("PRACK", "sip:bob@contoso.com", local, "p1") + "Content-Length: 0\n\n")  // no handler in the pool
	send(request("INVITE", "sip:bob@contoso.com", local, "i1") + "Content-Length: 0\n\n") // routed: bob is not registered
	eventually(t, "the INVITE's log line", func() bool { return strings.Contains(stderr.String(), `"msg":"INVITE"`) })
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	require.NoError(t, cmd.Wait(), "SIGINT stops serve cleanly")

	var sawSipgo, sawRoute bool
	sc := bufio.NewScanner(bytes.NewReader([]byte(stderr.String())))
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "a log line that is not JSON: %s", sc.Text())
		if line["caller"] != nil || strings.Contains(fmt.Sprint(line["msg"]), "parse") {
			sawSipgo = true
		}
		if line["msg"] == "INVITE" {
			sawRoute = true
			assert.Equal(t, "to-user", line["route"], "the route in words")
		}
	}
	assert.True(t, sawSipgo, "sipgo's own lines are there, as JSON:\n%s", stderr.String())
	assert.True(t, sawRoute)
}

// request starts a minimal SIP request from addr (headers only, no blank line).
func request(method, uri, addr, callID string) string {
	return fmt.Sprintf("%s %s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport\nFrom: <sip:alice@contoso.com>;tag=t-%s\n"+
		"To: <%s>\nCall-ID: %s\nCSeq: 1 %s\nMax-Forwards: 70\nContact: <sip:alice@%s>\n",
		method, uri, addr, callID, callID, uri, callID, method, addr)
}
