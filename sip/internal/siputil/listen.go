package siputil

import (
	"errors"
	"time"

	"github.com/emiago/sipgo"
)

// WaitListening waits until sipgo has registered the UDP listener, so requests sent from
// it reuse the socket (ServeUDP registers it asynchronously).
func WaitListening(ua *sipgo.UserAgent, addr string) error {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := ua.TransportLayer().GetConnection("udp", addr); err == nil && c != nil {
			c.TryClose()
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return errors.New("udp listener " + addr + " not ready")
}
