package sip

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/phone"
)

// BenchmarkInviteFloodToUnknownUsers floods a pool with INVITEs for users that do not
// exist, from one UDP socket, at floodRate for floodCount requests, while a phone keeps
// re-registering on the same pool. It reports the heap and RSS before, at the peak and
// after the flood, how many INVITEs were answered, and how the REGISTERs fared. Run it with
//
//	go test ./sip -run '^$' -bench InviteFlood -benchtime 1x
//
// Pools answer such INVITEs statelessly (relay.go, refuse): no transaction is kept, no
// 404 is retransmitted for Timer H, so memory goes back to its baseline at once.
func BenchmarkInviteFloodToUnknownUsers(b *testing.B) {
	for _, rate := range []int{3000, 6000} {
		b.Run(fmt.Sprintf("%d-per-s", rate), func(b *testing.B) { floodUnknownUsers(b, rate, 10*rate) })
	}
}

// floodUnknownUsers sends floodCount INVITEs at floodRate per second.
func floodUnknownUsers(b *testing.B, floodRate, floodCount int) {
	for range b.N {
		n, _, err := Start(Config{Topology: labTopology()})
		require.NoError(b, err)
		p1, _ := n.Pool(pool01)
		fleet := phone.NewFleet(n)
		ph, err := fleet.NewPhone("alice")
		require.NoError(b, err)

		before := memNow()
		flooder := newRawPeer(b)
		var answered atomic.Int64
		stopReading := make(chan struct{})
		go func() { // count the answers
			buf := make([]byte, 65535)
			for {
				select {
				case <-stopReading:
					return
				default:
				}
				flooder.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				if k, _, err := flooder.conn.ReadFromUDP(buf); err == nil && strings.HasPrefix(string(buf[:k]), "SIP/2.0 4") {
					answered.Add(1)
				}
			}
		}()
		var regOK, regFailed atomic.Int64
		var regWorst atomic.Int64
		stopRegs := make(chan struct{})
		var regsDone sync.WaitGroup
		regsDone.Add(1)
		go func() { // a legitimate phone keeps registering
			defer regsDone.Done()
			for {
				select {
				case <-stopRegs:
					return
				case <-time.After(50 * time.Millisecond):
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				start := time.Now()
				_, err := ph.Register(ctx)
				cancel()
				if err != nil {
					regFailed.Add(1)
					continue
				}
				regOK.Add(1)
				if d := time.Since(start).Microseconds(); d > regWorst.Load() {
					regWorst.Store(d)
				}
			}
		}()
		peak := before
		var peakMu sync.Mutex
		stopSampling := make(chan struct{})
		go func() {
			for {
				select {
				case <-stopSampling:
					return
				case <-time.After(100 * time.Millisecond):
				}
				m := memSample()
				peakMu.Lock()
				peak = peak.max(m)
				peakMu.Unlock()
			}
		}()

		b.ResetTimer()
		start := time.Now()
		to, _ := net.ResolveUDPAddr("udp", p1.Addr())
		const batch = 30
		tick := time.NewTicker(time.Second * batch / time.Duration(floodRate))
		for i := 0; i < floodCount; i += batch {
			<-tick.C
			for j := i; j < i+batch && j < floodCount; j++ {
				msg := rawMsg(flooder.addr(), "INVITE sip:nobody"+strconv.Itoa(j)+"@contoso.com SIP/2.0", tinySDP("127.0.0.1"),
					"Via: SIP/2.0/UDP {me};branch={branch};rport", "From: <sip:flood@example.org>;tag=f"+strconv.Itoa(j),
					"To: <sip:nobody"+strconv.Itoa(j)+"@contoso.com>", "Call-ID: flood-"+strconv.Itoa(j), "CSeq: 1 INVITE",
					"Contact: <sip:flood@{me}>", "Max-Forwards: 70", "Content-Type: application/sdp")
				flooder.conn.WriteToUDP([]byte(msg), to)
			}
		}
		tick.Stop()
		sent := time.Since(start)
		b.StopTimer()
		close(stopRegs)
		regsDone.Wait()
		time.Sleep(2 * time.Second) // let the last answers and any retransmissions drain
		close(stopSampling)
		close(stopReading)
		after := memNow()

		b.ReportMetric(float64(floodCount)/sent.Seconds(), "invites/s")
		b.ReportMetric(float64(answered.Load())/float64(floodCount), "answered/sent")
		b.ReportMetric(before.heapMB, "heap-before-MB")
		b.ReportMetric(peak.heapMB, "heap-peak-MB")
		b.ReportMetric(after.heapMB, "heap-after-MB")
		b.ReportMetric(before.rssMB, "rss-before-MB")
		b.ReportMetric(peak.rssMB, "rss-peak-MB")
		b.ReportMetric(after.rssMB, "rss-after-MB")
		b.ReportMetric(float64(regOK.Load()), "registers-ok")
		b.ReportMetric(float64(regFailed.Load()), "registers-failed")
		b.ReportMetric(float64(regWorst.Load())/1000, "register-worst-ms")
		fleet.Close()
		n.Close()
	}
}

// mem is the process's memory: Go heap in use and resident set size.
type mem struct{ heapMB, rssMB float64 }

func (m mem) max(o mem) mem { return mem{max(m.heapMB, o.heapMB), max(m.rssMB, o.rssMB)} }

// memNow is the memory after a garbage collection: what is really held.
func memNow() mem {
	goruntime.GC()
	return memSample()
}

func memSample() mem {
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return mem{heapMB: float64(ms.HeapInuse) / (1 << 20), rssMB: rssMB()}
}

// rssMB reads VmRSS from /proc/self/status (Linux).
func rssMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb / 1024
		}
	}
	return 0
}
