package sip

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// A pool given port 0 takes a port of its own below the kernel's ephemeral range (32768
// and up on Linux) and keeps it for life. A pool that recovers after an outage binds its
// address again; on a port from the ephemeral range, any socket opened meanwhile (a
// phone's, music on hold, another process's) may hold it, and the recovery failed with
// "address already in use" (the library's replay on a loaded machine, the load
// rehearsals). Nothing takes a port below the range unless it asks for it, and this
// process hands none of its pools' ports out twice until the pool is closed for good.
// Even ports only: a pool with TLS listens on its port + 1.
const (
	poolPortsLow  = 30000 // sip/baresiptest's phones take 20000-29999
	poolPortsHigh = 32768 // where the ephemeral range starts
)

var (
	poolPortsMu sync.Mutex
	poolPorts   = map[int]bool{} // ports of this process's pools
)

// listenOwnPort listens for UDP and TCP on host at a free even port below the ephemeral
// range, and returns the port it took.
func listenOwnPort(host string) (net.PacketConn, net.Listener, int, error) {
	poolPortsMu.Lock()
	defer poolPortsMu.Unlock()
	for range 500 {
		port := poolPortsLow + 2*rand.IntN((poolPortsHigh-poolPortsLow)/2)
		if poolPorts[port] {
			continue
		}
		udp, tcp, err := listenBoth(net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		poolPorts[port] = true
		return udp, tcp, port, nil
	}
	return nil, nil, 0, fmt.Errorf("no port free for UDP and TCP on %s between %d and %d", host, poolPortsLow, poolPortsHigh)
}

// retire stops the pool for good and gives back the port it took (Network.Close,
// RemovePool).
func (p *Pool) retire() {
	p.stop()
	p.mu.Lock()
	port := p.ownPort
	p.ownPort = 0
	p.mu.Unlock()
	if port != 0 {
		poolPortsMu.Lock()
		delete(poolPorts, port)
		poolPortsMu.Unlock()
	}
}
