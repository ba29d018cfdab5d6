package runner

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/pcap"
	"github.com/pickupsim/pickupsim/sip/wiretap"
)

// capture writes one scenario's SIP and RTP to a pcap file (Options.Pcap), each packet
// once, as it went on the wire, stamped on the scenario's clock (stamper).
type capture struct {
	mu    sync.Mutex
	path  string
	file  *os.File
	buf   *bufio.Writer
	w     *pcap.Writer
	stamp stamper
	err   error // the first write error; later packets are dropped
	ended bool
}

// CaptureFile is the name of the capture of the scenario in file (Options.PcapDir): the
// file's name, .pcap instead of .yaml.
func CaptureFile(file string) string {
	return strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)) + ".pcap"
}

// openCapture starts the recorder's capture of sc in dir, if dir is set; its stamps start
// at the virtual clock's now.
func (r *recorder) openCapture(dir string, sc *scenario.Scenario, vc *clock.Virtual) error {
	if dir == "" {
		return nil
	}
	name := sc.File
	if name == "" {
		name = strings.Map(func(c rune) rune {
			if c == '/' || c == os.PathSeparator || c == ' ' {
				return '-'
			}
			return c
		}, sc.Name) + ".yaml"
	}
	path := filepath.Join(dir, CaptureFile(name))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	buf := bufio.NewWriterSize(f, 64<<10)
	w, err := pcap.NewWriter(buf)
	if err != nil {
		f.Close()
		return fmt.Errorf("capture %s: %w", path, err)
	}
	r.capture = &capture{path: path, file: f, buf: buf, w: w, stamp: newStamper(vc.Now, time.Now())}
	return nil
}

// write adds one packet. The wiretap calls it for one packet at a time.
func (c *capture) write(p wiretap.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || c.ended {
		return
	}
	at := c.stamp.at(p.At)
	if p.Transport == "TCP" {
		c.err = c.w.TCP(at, p.From, p.To, p.Data)
	} else {
		c.err = c.w.UDP(at, p.From, p.To, p.Data)
	}
}

// endCapture flushes and closes the capture; nothing is written after it. Calling it
// again does nothing.
func (r *recorder) endCapture() {
	c := r.capture
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.ended = true
	if err := c.buf.Flush(); c.err == nil {
		c.err = err
	}
	if err := c.file.Close(); c.err == nil {
		c.err = err
	}
}

// captureProblems says why the capture is incomplete, if it is: a replay's result lists
// it among its warnings, since the scenario itself ran.
func (r *recorder) captureProblems() []string {
	c := r.capture
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		return nil
	}
	return []string{fmt.Sprintf("capture %s is incomplete: %v", c.path, c.err)}
}

// stamper turns the real time a packet was seen into a capture timestamp that reads in
// order on the scenario's clock. The virtual clock stands still while steps run and
// jumps when one advances it, while RTP and SIP flow in real time. A packet is stamped
// with the virtual time the clock last showed, plus the real time since the clock was
// seen at that time: the RTP of a call established by a step is 20 ms apart, and what an
// `advance` sets off (a refresh, a timeout) is stamped at the timer's virtual deadline.
// Stamps never go back: a jump shorter than the real time already spent since the
// previous one starts from the last stamp.
type stamper struct {
	virtual func() time.Time
	seen    time.Time // the virtual time last read
	base    time.Time // the stamp of anchor
	anchor  time.Time // the real time the clock was first seen at seen
	last    time.Time // the last stamp given
}

func newStamper(virtual func() time.Time, now time.Time) stamper {
	v := virtual()
	return stamper{virtual: virtual, seen: v, base: v, anchor: now, last: v}
}

// at returns the stamp of a packet seen at real time real.
func (s *stamper) at(real time.Time) time.Time {
	if v := s.virtual(); !v.Equal(s.seen) {
		s.seen, s.anchor = v, real
		s.base = v
		if s.last.After(v) {
			s.base = s.last
		}
	}
	t := s.base.Add(real.Sub(s.anchor))
	if t.Before(s.last) {
		t = s.last
	}
	s.last = t
	return t
}
