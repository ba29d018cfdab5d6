package baresip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"time"
)

// rtpRange is how many ports each phone's RTP range spans (RTP and RTCP of a few calls).
const rtpRange = 10

// FreeConfig returns a configuration for dir on ports that are free now: a SIP port whose
// next port (TLS) is free too, a ctrl_tcp port, and an RTP range.
func FreeConfig(dir string) (Config, error) {
	c := Config{Dir: dir}
	var err error
	if c.SIPPort, err = freeRun(2, true); err != nil {
		return c, err
	}
	if c.CtrlPort, err = freeRun(1, true); err != nil {
		return c, err
	}
	base, err := freeRun(rtpRange, false)
	if err != nil {
		return c, err
	}
	c.RTPPorts = [2]int{base, base + rtpRange - 1}
	return c, nil
}

// freeRun finds n consecutive ports free on loopback for UDP (and TCP when tcp is set),
// in the range Linux does not hand out as ephemeral ports by default (below 32768), so a
// port another test was given by the kernel cannot land inside a phone's range.
func freeRun(n int, tcp bool) (int, error) {
	for range 200 {
		base := 20000 + rand.IntN(12000-n)
		if runFree(base, n, tcp) {
			return base, nil
		}
	}
	return 0, errors.New("no free loopback port run found")
}

func runFree(base, n int, tcp bool) bool {
	var closers []func() error
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for p := base; p < base+n; p++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		closers = append(closers, u.Close)
		if tcp {
			t, err := net.Listen("tcp", addr)
			if err != nil {
				return false
			}
			closers = append(closers, t.Close)
		}
	}
	return true
}

// toneWAV returns a 16-bit mono PCM WAV file of a sine tone.
func toneWAV(rate int, d time.Duration, hz float64) []byte {
	samples := int(d.Seconds() * float64(rate))
	data := make([]byte, 2*samples)
	for i := range samples {
		v := int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
		binary.LittleEndian.PutUint16(data[2*i:], uint16(v))
	}
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+len(data)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], 1) // mono
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(len(data)))
	return append(h, data...)
}

// String describes the ports, for logs.
func (c Config) String() string {
	return fmt.Sprintf("sip %d (tls %d), ctrl %d, rtp %d-%d", c.SIPPort, c.SIPPort+1, c.CtrlPort, c.RTPPorts[0], c.RTPPorts[1])
}
