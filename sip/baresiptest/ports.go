package baresiptest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// portBlock is the ports one phone uses. baresip takes fixed ports from its config, so
// they are chosen here, free at the time, below the kernel's ephemeral range (where the
// port-0 sockets of other tests land): the SIP port for UDP and TCP, the next one, which
// baresip binds for TLS, ctrl_tcp's port, and an RTP range.
type portBlock struct {
	sip, ctrl       int
	rtpLow, rtpHigh int
}

const (
	portsLow  = 20000
	portsHigh = 30000
	blockSize = 16 // sip, sip+1 (TLS), ctrl, then 12 RTP ports (6 RTP/RTCP pairs)
)

var (
	reservedMu sync.Mutex
	reserved   = map[int]bool{} // block bases handed out in this process
)

// reservePorts picks a block of free ports.
func reservePorts(ip string) (portBlock, error) {
	reservedMu.Lock()
	defer reservedMu.Unlock()
	for range 200 {
		base := portsLow + rand.IntN((portsHigh-portsLow)/blockSize)*blockSize
		if reserved[base] || !free(ip, base, blockSize) {
			continue
		}
		reserved[base] = true
		return portBlock{sip: base, ctrl: base + 2, rtpLow: base + 4, rtpHigh: base + blockSize - 1}, nil
	}
	return portBlock{}, fmt.Errorf("no free block of %d ports between %d and %d on %s", blockSize, portsLow, portsHigh, ip)
}

// free reports whether n ports from base are free for both UDP and TCP.
func free(ip string, base, n int) bool {
	var closers []interface{ Close() error }
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		addr := net.JoinHostPort(ip, strconv.Itoa(p))
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		closers = append(closers, u)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		closers = append(closers, l)
	}
	return true
}
