package sip

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
)

// FuzzPoolDatagram sends each input as one UDP datagram to a running pool, then checks
// that the pool still answers an OPTIONS, that no handler panicked and that nothing tried
// to resolve a name. A panic outside the guard (sipgo's parser or transaction layer) kills
// the process, which the fuzzing engine reports as a crash.
//
// Seeds: RFC 4475's torture messages (sipgo's sip/testdata/torture), the crashers of
// issue 10 and requests a stranger sends to use a pool as a relay. In seeds, "{me}" stands
// for the sender's address and "{pool}" for the pool's.
func FuzzPoolDatagram(f *testing.F) {
	for _, msg := range tortureMessages(f) {
		f.Add(msg)
	}
	for _, c := range crashers() {
		f.Add([]byte(c.msg("{me}", "{pool}")))
	}
	for _, m := range []string{"MESSAGE", "BYE", "NOTIFY", "INFO", "UPDATE", "REFER", "INVITE", "ACK"} {
		f.Add([]byte(strangerRequest("{me}", m, "sip:victim@127.0.0.1:9", true)))
		f.Add([]byte(strangerRequest("{me}", m, "sip:alice@contoso.com", false)))
	}
	f.Add([]byte(registerMsg("{me}", "UDP", "alice")))
	f.Add([]byte(pickupMsg("{me}", "UDP", "carol", "100")))
	f.Add([]byte(strings.ReplaceAll(bigInviteTemplate("alice"), "\r\n", "\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		fl := theFuzzLab(t)
		msg := bytes.ReplaceAll(data, []byte("{me}"), []byte(fl.sender.LocalAddr().String()))
		msg = bytes.ReplaceAll(msg, []byte("{pool}"), []byte(fl.pool.String()))
		panics, lookups := fl.net.HandlerPanics(), fl.net.DNSLookups()
		if _, err := fl.sender.WriteToUDP(msg, fl.pool); err != nil {
			return // too large for a datagram
		}
		if err := fl.probe(); err != nil {
			t.Fatalf("the pool stopped answering after %q: %v", data, err)
		}
		if p := fl.net.HandlerPanics(); p != panics {
			t.Fatalf("a handler panicked on %q (see the log)", data)
		}
		if d := fl.net.DNSLookups(); d != lookups {
			t.Fatalf("%q made the simulator resolve a name", data)
		}
	})
}

// fuzzLab is the network FuzzPoolDatagram sends to, started once per process: pool01 of
// the lab topology with alice registered from a socket that answers like a busy phone.
type fuzzLab struct {
	net    *Network
	pool   *net.UDPAddr
	sender *net.UDPConn
	prober *net.UDPConn
	seq    int
	mu     sync.Mutex
}

var (
	fuzzOnce sync.Once
	fuzzEnv  *fuzzLab
	fuzzErr  error
)

func theFuzzLab(t *testing.T) *fuzzLab {
	fuzzOnce.Do(func() { fuzzEnv, fuzzErr = startFuzzLab() })
	if fuzzErr != nil {
		t.Fatal(fuzzErr)
	}
	return fuzzEnv
}

func startFuzzLab() (*fuzzLab, error) {
	n, _, err := Start(Config{Topology: labTopology()})
	if err != nil {
		return nil, err
	}
	p1, _ := n.Pool(pool01)
	pool, _ := net.ResolveUDPAddr("udp", p1.Addr())
	listen := func() *net.UDPConn {
		c, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		return c
	}
	fl := &fuzzLab{net: n, pool: pool, sender: listen(), prober: listen()}
	go drain(fl.sender)
	alice := listen()
	if _, err := alice.WriteToUDP([]byte(registerMsg(alice.LocalAddr().String(), "UDP", "alice")), pool); err != nil {
		return nil, err
	}
	go busyPhone(alice)
	return fl, nil
}

// probe sends an OPTIONS and waits for its answer (up to 10 s).
func (fl *fuzzLab) probe() error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.seq++
	id := fmt.Sprintf("probe-%d", fl.seq)
	me := fl.prober.LocalAddr().String()
	msg := rawMsg(me, "OPTIONS sip:pool01.contoso.com SIP/2.0", "", "Via: SIP/2.0/UDP {me};branch={branch};rport",
		"From: <sip:probe@example.org>;tag=p", "To: <sip:pool01.contoso.com>", "Call-ID: "+id, "CSeq: 1 OPTIONS", "Max-Forwards: 70")
	if _, err := fl.prober.WriteToUDP([]byte(msg), fl.pool); err != nil {
		return err
	}
	// 10 s, not 2: the question is whether the pool still answers at all, and a fuzzing
	// machine starved by other work (seen: a niced fuzzer beside a lossy library replay)
	// must not make a slow answer a crasher. Loopback loses nothing: one OPTIONS will do.
	buf := make([]byte, 65535)
	deadline := time.Now().Add(10 * time.Second)
	for {
		fl.prober.SetReadDeadline(deadline)
		k, _, err := fl.prober.ReadFromUDP(buf)
		if err != nil {
			return errors.New("no answer to OPTIONS within 10 s")
		}
		if m, err := gosip.ParseMessage(buf[:k]); err == nil && siputil.CallID(m) == id {
			return nil
		}
	}
}

// drain reads and drops whatever arrives on c.
func drain(c *net.UDPConn) {
	buf := make([]byte, 65535)
	for {
		if _, _, err := c.ReadFromUDP(buf); err != nil && !isTimeout(err) {
			return
		}
	}
}

// busyPhone answers every request on c: 486 to an INVITE, 200 to anything else, so the
// pool's relays to a registered phone end at once.
func busyPhone(c *net.UDPConn) {
	buf := make([]byte, 65535)
	for {
		k, from, err := c.ReadFromUDP(buf)
		if err != nil {
			if isTimeout(err) {
				continue
			}
			return
		}
		req, ok := parseRequest(buf[:k])
		if !ok || req.IsAck() {
			continue
		}
		code, reason := 200, "OK"
		if req.IsInvite() {
			code, reason = 486, "Busy Here"
		}
		c.WriteToUDP([]byte(gosip.NewResponseFromRequest(req, code, reason, nil).String()), from)
	}
}

func parseRequest(b []byte) (*gosip.Request, bool) {
	m, err := gosip.ParseMessage(b)
	if err != nil {
		return nil, false
	}
	req, ok := m.(*gosip.Request)
	return req, ok
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// bigInviteTemplate is a 3 kB INVITE to user from "{me}".
func bigInviteTemplate(user string) string {
	return rawMsg("{me}", "INVITE sip:"+user+"@contoso.com SIP/2.0", bigSDP("127.0.0.1"),
		"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:ext@example.org>;tag=big1",
		"To: <sip:"+user+"@contoso.com>", "Call-ID: big-fuzz", "CSeq: 1 INVITE",
		"Contact: <sip:ext@{me}>", "Max-Forwards: 70", "Content-Type: application/sdp")
}
