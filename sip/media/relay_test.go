package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
)

// relay is a one-way UDP forwarder for tests: every datagram that reaches it is
// sent on to dst zero, one or more times, as copies(i) says for the i-th
// datagram (counting from 1). It stands in for a lossy or duplicating network.
type relay struct {
	conn *net.UDPConn
	wg   sync.WaitGroup
}

func newRelay(t *testing.T, dst netip.AddrPort, copies func(i int) int) *relay {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{conn: conn}
	r.wg.Add(1)
	go r.run(dst, copies)
	t.Cleanup(func() {
		conn.Close()
		r.wg.Wait()
	})
	return r
}

func (r *relay) addr() netip.AddrPort { return r.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (r *relay) run(dst netip.AddrPort, copies func(int) int) {
	defer r.wg.Done()
	buf := make([]byte, maxPacket)
	for i := 1; ; i++ {
		n, _, err := r.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		for range copies(i) {
			r.conn.WriteToUDPAddrPort(buf[:n], dst)
		}
	}
}

// dropEvery drops every n-th datagram.
func dropEvery(n int) func(int) int {
	return func(i int) int {
		if i%n == 0 {
			return 0
		}
		return 1
	}
}

// duplicateEvery sends every n-th datagram twice.
func duplicateEvery(n int) func(int) int {
	return func(i int) int {
		if i%n == 0 {
			return 2
		}
		return 1
	}
}
