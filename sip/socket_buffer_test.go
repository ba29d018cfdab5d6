package sip

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPoolUDPSocketIsSizedForAStorm: a pool's UDP socket holds what a registration storm
// sends in the time it takes to read it (4 MiB, or as much as the kernel allows), not the
// kernel's 208 KB default that dropped REGISTERs at 3,000/s.
func TestPoolUDPSocketIsSizedForAStorm(t *testing.T) {
	l := newLab(t, labTopology())
	p1, _ := l.net.Pool(pool01)
	p1.mu.Lock()
	conn := p1.rt.udp.PacketConn.(*net.UDPConn)
	p1.mu.Unlock()

	for opt, limit := range map[int]string{syscall.SO_RCVBUF: "rmem_max", syscall.SO_SNDBUF: "wmem_max"} {
		want := udpSocketBuffer
		if raw, err := os.ReadFile("/proc/sys/net/core/" + limit); err == nil {
			if max, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && max < want {
				want = max
			}
		}
		sc, err := conn.SyscallConn()
		require.NoError(t, err)
		var got int
		require.NoError(t, sc.Control(func(fd uintptr) {
			got, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, opt)
		}))
		require.NoError(t, err)
		// Linux reports twice what was set (its bookkeeping overhead, socket(7)).
		require.GreaterOrEqual(t, got, want, "%s of the pool's UDP socket", limit)
	}
}
