package baresiptest

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ModulePath is where Debian's baresip-core installs its modules.
const ModulePath = "/usr/lib/baresip/modules"

// Dir is one phone's baresip configuration directory.
type Dir struct {
	// Path is the configuration directory (baresip -f Path); it is created if missing.
	Path string
	// IP is the loopback address the phone binds; empty means 127.0.0.1.
	IP string
	// SIPPort is the SIP port (UDP and TCP). baresip also binds SIPPort+1 for TLS, so two
	// phones need SIP ports at least 2 apart.
	SIPPort int
	// CtrlPort is the ctrl_tcp port.
	CtrlPort int
	// RTPPorts is the phone's RTP (and RTCP, the next port) range.
	RTPPorts [2]int
	// Accounts are account lines, written to the accounts file and registered at start.
	// Tests of lines that come and go leave it empty and add accounts with the "uanew"
	// command once connected, so that no registration event is missed (and see mwi.so
	// below).
	Accounts []string
	// Tone is how long the tone the phone sends as its microphone lasts: aufile plays it
	// once, and baresip ends the call at its end. Zero means 4 minutes, which outlast any
	// test call.
	Tone time.Duration
	// Extra config lines, appended after the defaults (a later line wins).
	Extra []string
}

// FreeDir returns a configuration for path on ports that are free now (reservePorts): a
// SIP port whose next port (TLS) is free too, a ctrl_tcp port, and an RTP range.
func FreeDir(path string) (Dir, error) {
	return freeDir(path, "127.0.0.1")
}

func freeDir(path, ip string) (Dir, error) {
	p, err := reservePorts(ip)
	if err != nil {
		return Dir{}, err
	}
	return Dir{Path: path, IP: ip, SIPPort: p.sip, CtrlPort: p.ctrl, RTPPorts: [2]int{p.rtpLow, p.rtpHigh}}, nil
}

// Lines returns the config file's lines: loopback only, G.711, no sound card (aubridge
// as player, a WAV file as each call's source), an empty audio_path (no ring-back tone,
// whose playback would hold the audio device: one-way RTP after answer), ctrl_tcp on.
func (d Dir) Lines() []string {
	ip := ipOr(d.IP)
	sound := filepath.Join(d.Path, "sound")
	lines := []string{
		"poll_method epoll",
		"module_path " + ModulePath,
		fmt.Sprintf("sip_listen %s:%d", ip, d.SIPPort),
		"net_interface " + ip,
		fmt.Sprintf("rtp_ports %d-%d", d.RTPPorts[0], d.RTPPorts[1]),
		"rtcp_mux no",
		"audio_path " + sound,
		"audio_player aubridge,play-" + strconv.Itoa(d.SIPPort),
		"audio_source aufile," + filepath.Join(sound, "tone.wav"),
		"audio_alert aubridge,alert-" + strconv.Itoa(d.SIPPort),
		"call_max_calls 4",
		"module g711.so",
		"module aubridge.so",
		"module aufile.so",
		"module_tmp account.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
	}
	if len(d.Accounts) == 0 {
		// The mwi module subscribes to message-summary when a line registers. In 1.0.0 its
		// start-up timer loops forever (a SUBSCRIBE storm) if a line registered before it
		// fired, which Accounts given at start can do; lines added by "uanew" cannot.
		lines = append(lines, "module_app mwi.so")
	}
	lines = append(lines, fmt.Sprintf("ctrl_tcp_listen %s:%d", ip, d.CtrlPort))
	return append(lines, d.Extra...)
}

// Write creates the configuration directory: config, accounts, and an 8 kHz tone the
// phone sends as its voice.
func (d Dir) Write() error {
	sound := filepath.Join(d.Path, "sound")
	if err := os.MkdirAll(sound, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d.Path, "config"), []byte(strings.Join(d.Lines(), "\n")+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d.Path, "accounts"), []byte(strings.Join(d.Accounts, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	tone := d.Tone
	if tone == 0 {
		tone = 4 * time.Minute
	}
	// 8 kHz mono PCM, as G.711 needs. Each call opens the file on its own, so a phone with
	// two calls (a transfer in progress) sends on both.
	return os.WriteFile(filepath.Join(sound, "tone.wav"), toneWAV(8000, tone, 400), 0o644)
}

// String describes the ports, for logs.
func (d Dir) String() string {
	return fmt.Sprintf("sip %d (tls %d), ctrl %d, rtp %d-%d", d.SIPPort, d.SIPPort+1, d.CtrlPort, d.RTPPorts[0], d.RTPPorts[1])
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
