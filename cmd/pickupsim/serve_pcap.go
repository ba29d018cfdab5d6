package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/pickupsim/pickupsim/sip/pcap"
	"github.com/pickupsim/pickupsim/sip/wiretap"
)

// liveCapture is serve --pcap: every SIP message and RTP datagram the process sends or
// receives (serve runs nothing but the pools), stamped with the wall clock. Each packet is
// one write to the file, so the capture can be opened while serve runs.
type liveCapture struct {
	mu     sync.Mutex
	file   *os.File
	w      *pcap.Writer
	log    *slog.Logger
	failed bool
}

// startCapture starts capturing into path, or does nothing when path is empty. It must
// run before the pools start (wiretap.Enable). The returned closer ends the capture.
func startCapture(path string, log *slog.Logger) (io.Closer, error) {
	if path == "" {
		return io.NopCloser(nil), nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--pcap: %w", err)
	}
	w, err := pcap.NewWriter(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("--pcap %s: %w", path, err)
	}
	c := &liveCapture{file: f, w: w, log: log}
	wiretap.Enable()
	wiretap.OwnRest(c)
	log.Info("capturing SIP and RTP", "file", path)
	return c, nil
}

// Capture is the wiretap's. A write error is logged once and ends the capture; serve
// goes on.
func (c *liveCapture) Capture(p wiretap.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed {
		return
	}
	var err error
	if p.Transport == "TCP" {
		err = c.w.TCP(p.At, p.From, p.To, p.Data)
	} else {
		err = c.w.UDP(p.At, p.From, p.To, p.Data)
	}
	if err != nil {
		c.failed = true
		c.log.Error("capture stopped", "file", c.file.Name(), "err", err)
	}
}

// Close stops capturing and closes the file.
func (c *liveCapture) Close() error {
	wiretap.Release(c)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = true
	return c.file.Close()
}
