package baresiptest

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

func TestReadNetstring(t *testing.T) {
	r := bufio.NewReader(strings.NewReader(`18:{"event":true,...},2:{},`))
	for _, want := range []string{`{"event":true,...}`, `{}`} {
		got, err := readNetstring(r)
		if err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	for _, bad := range []string{"x:", "3:abc;", "-1:", "99999999:", "5:ab"} {
		if _, err := readNetstring(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestToneIsAnEightKilohertzMonoWAV(t *testing.T) {
	b := toneWAV(8000, time.Second, 400)
	if string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" || len(b) != 44+2*8000 {
		t.Fatalf("not a 1 s 8 kHz 16-bit mono WAV: %d bytes, header %q", len(b), b[:12])
	}
}
