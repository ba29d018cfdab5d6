package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/scenarios/runner"
	"github.com/pickupsim/pickupsim/sip/pcap/pcaptest"
)

// jsonSIP is one SIP message of a replay's --json timeline.
type jsonSIP struct {
	Type, Summary, Raw string
}

type jsonScenarioTimeline struct {
	File     string
	Timeline []jsonSIP
}

// TestReplayPcapDecodesAsTheReplayRan replays two bundled scenarios at once with --pcap and
// --json, decodes each capture with tshark and checks it against what the JSON says the
// replay sent: the same SIP messages, counted per method and per status code; the same
// dialogs (sngrep, which reads captures as the lab does, counts them too); an RTP stream,
// one SSRC, from each media address the answered INVITEs' SDP named, its sequence numbers
// without a gap (no packet left out); and timestamps on the scenario's virtual clock, so
// that the REGISTER refused at 09:04:59 sits 4 min 59 s after the first.
func TestReplayPcapDecodesAsTheReplayRan(t *testing.T) {
	pcaptest.Tshark(t)
	sngrep := requireTool(t, "sngrep", "sngrep")
	dir := t.TempDir()
	captures, js := filepath.Join(dir, "captures"), filepath.Join(dir, "replay.json")
	files := []string{"../../scenarios/runbook-outage-failover-failback.yaml", "../../scenarios/park-and-retrieve-across-pools.yaml"}
	var out bytes.Buffer
	require.NoError(t, replay(&out, files, replayFlags{parallel: 2, json: js, pcap: captures}), out.String())

	var rep struct{ Scenarios []jsonScenarioTimeline }
	data, err := os.ReadFile(js)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &rep))
	require.Len(t, rep.Scenarios, 2)
	for _, sc := range rep.Scenarios {
		t.Run(filepath.Base(sc.File), func(t *testing.T) {
			file := filepath.Join(captures, runner.CaptureFile(sc.File))
			var sent []jsonSIP
			for _, e := range sc.Timeline {
				if e.Type == "sip" {
					sent = append(sent, e)
				}
			}
			require.NotEmpty(t, sent)
			checkSIP(t, file, sent)
			checkDialogs(t, sngrep, file, sent)
			checkRTP(t, file, sent)
		})
	}
	rows := pcaptest.Fields(t, filepath.Join(captures, "runbook-outage-failover-failback.pcap"), "sip", nil,
		"frame.time_epoch", "sip.Status-Code", "sip.CSeq.method")
	epoch := float64(runner.Epoch.Unix())
	first, _ := strconv.ParseFloat(rows[0][0], 64)
	assert.InDelta(t, epoch, first, 1, "the first message is stamped at the replay's virtual start, %s", runner.Epoch)
	refused := slices.IndexFunc(rows, func(r []string) bool { return r[1] == "503" && r[2] == "REGISTER" })
	require.NotEqual(t, -1, refused, "the capture holds the REGISTER refused during the outage")
	at, _ := strconv.ParseFloat(rows[refused][0], 64)
	assert.InDelta(t, epoch+(4*time.Minute+59*time.Second).Seconds(), at, 1, "the 503 is stamped after the step `advance: 00:04:59`")
}

// checkSIP compares the SIP messages tshark decodes with those the replay sent, per
// request method and per response code, and checks that the capture reads in order.
func checkSIP(t *testing.T, file string, sent []jsonSIP) {
	t.Helper()
	want := map[string]int{}
	for _, m := range sent {
		want[sipKind(m)]++
	}
	got := map[string]int{}
	var last float64
	for _, r := range pcaptest.Fields(t, file, "", nil, "frame.time_epoch", "sip.Method", "sip.Status-Code", "sip.CSeq.method") {
		at, err := strconv.ParseFloat(r[0], 64)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, at, last, "frame stamped %s comes after one stamped %f", r[0], last)
		last = at
		switch {
		case r[1] != "":
			got[r[1]]++
		case r[2] != "":
			got[r[2]+" ("+r[3]+")"]++
		}
	}
	assert.Equal(t, want, got, "SIP messages per method and status: the replay's JSON, and the capture as tshark decodes it")
	for _, k := range []string{"REGISTER", "INVITE", "ACK", "200 (INVITE)"} {
		assert.Positive(t, got[k], "the capture holds %s", k)
	}
}

// sipKind is "INVITE" for a request, "180 (INVITE)" for a response: what checkSIP counts.
func sipKind(m jsonSIP) string {
	if rest, ok := strings.CutPrefix(m.Summary, "SIP/2.0 "); ok {
		code, _, _ := strings.Cut(rest, " ")
		cseq := strings.Fields(header(m.Raw, "CSeq"))
		return code + " (" + cseq[len(cseq)-1] + ")"
	}
	method, _, _ := strings.Cut(m.Summary, " ")
	return method
}

// checkDialogs has sngrep read the capture and count its dialogs: one per Call-ID the
// replay used.
func checkDialogs(t *testing.T, sngrep, file string, sent []jsonSIP) {
	t.Helper()
	ids := map[string]bool{}
	for _, m := range sent {
		ids[header(m.Raw, "Call-ID")] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, sngrep, "-N", "-I", file).CombinedOutput()
	require.NoError(t, err, "sngrep -N -I %s: %s", file, out)
	counts := regexp.MustCompile(`Dialog count: (\d+)`).FindAllStringSubmatch(string(out), -1)
	require.NotEmpty(t, counts, "sngrep said: %s", out)
	assert.Equal(t, strconv.Itoa(len(ids)), counts[len(counts)-1][1], "sngrep's dialogs, one per Call-ID of the replay")
}

// checkRTP checks the RTP tshark finds: the streams come from exactly the media addresses
// the SDP of answered INVITEs named (the offer and the 2xx answer of each), one SSRC each,
// and each stream's sequence numbers run without a gap.
func checkRTP(t *testing.T, file string, sent []jsonSIP) {
	t.Helper()
	want := answeredMedia(sent)
	require.NotEmpty(t, want, "the scenario established calls")
	type stream struct {
		from netip.AddrPort
		seqs []int
	}
	streams := map[string]*stream{}
	for _, r := range pcaptest.Fields(t, file, "rtp", nil, "rtp.ssrc", "ip.src", "udp.srcport", "rtp.seq") {
		if r[0] == "" || r[3] == "" {
			// A phone's reachability probe at an RTP deadline (a CRLF to the far end's RTP
			// port, phone.hearsMediaNow) is on the wire too, and tshark shows it as a
			// malformed RTP frame of that stream: it is no packet of it.
			continue
		}
		from := netip.MustParseAddrPort(r[1] + ":" + r[2])
		s := streams[r[0]]
		if s == nil {
			s = &stream{from: from}
			streams[r[0]] = s
		}
		assert.Equal(t, s.from, from, "SSRC %s sends from one address", r[0])
		seq, err := strconv.Atoi(r[3])
		require.NoError(t, err)
		s.seqs = append(s.seqs, seq)
	}
	senders := map[string]bool{}
	for ssrc, s := range streams {
		senders[s.from.String()] = true
		for i := 1; i < len(s.seqs); i++ {
			if s.seqs[i] != (s.seqs[i-1]+1)%65536 {
				t.Errorf("SSRC %s: sequence number %d follows %d: the capture lost or reordered packets", ssrc, s.seqs[i], s.seqs[i-1])
				break
			}
		}
	}
	// The JSON names media ports symbolically (rtp-1, rtp-2...: runner.Canonical), so the
	// capture's streams are counted against them, each from its own address.
	assert.Len(t, streams, len(want), "one RTP stream (SSRC) from each media address of an answered call: %v", want)
	assert.Len(t, senders, len(want), "each stream from its own address")
}

// answeredMedia returns the media addresses the SDP of answered INVITEs named: that of
// each 2xx to an INVITE, and that of the INVITE it answered (same Call-ID and CSeq).
func answeredMedia(sent []jsonSIP) []string {
	offers := map[string]string{} // Call-ID + CSeq -> the offer's media address
	answered := map[string]bool{}
	for _, m := range sent {
		key := header(m.Raw, "Call-ID") + " " + header(m.Raw, "CSeq")
		addr := sdpAddr(m.Raw)
		switch {
		case strings.HasPrefix(m.Summary, "INVITE ") && addr != "":
			offers[key] = addr
		case strings.HasPrefix(m.Summary, "SIP/2.0 2") && strings.HasSuffix(header(m.Raw, "CSeq"), "INVITE") && addr != "":
			answered[addr] = true
			if o := offers[key]; o != "" {
				answered[o] = true
			}
		}
	}
	var out []string
	for a := range answered {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// sdpAddr is the audio address of a message's SDP body, "" without one.
func sdpAddr(raw string) string {
	_, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok || !strings.HasPrefix(body, "v=0") {
		return ""
	}
	for line := range strings.SplitSeq(body, "\r\n") {
		if port, ok := strings.CutPrefix(line, "m=audio "); ok {
			if port, _, _ = strings.Cut(port, " "); port != "0" {
				return port // rtp-N, as the JSON names it
			}
		}
	}
	return ""
}

// header returns the value of a message's header, "" if it has none.
func header(raw, name string) string {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	for line := range strings.SplitSeq(head, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
