package media

import (
	"testing"
	"time"
)

func TestG711Encoders(t *testing.T) {
	tests := []struct {
		in         int16
		ulaw, alaw byte
	}{
		{0, 0xFF, 0xD5},
		{-1, 0x7F, 0x55},
		{32767, 0x80, 0xAA},
		{-32768, 0x00, 0x2A},
		{1000, 0xCE, 0xFA},
		{-1000, 0x4E, 0x7A},
	}
	for _, tt := range tests {
		if got := linearToULaw(tt.in); got != tt.ulaw {
			t.Errorf("µ-law(%d) = %#02x, want %#02x", tt.in, got, tt.ulaw)
		}
		if got := linearToALaw(tt.in); got != tt.alaw {
			t.Errorf("A-law(%d) = %#02x, want %#02x", tt.in, got, tt.alaw)
		}
	}
}

func TestSilenceAndTone(t *testing.T) {
	if s := Silence(PayloadPCMU); len(s) != SamplesPerPacket || s[0] != 0xFF {
		t.Errorf("PCMU silence = % x", s[:4])
	}
	if s := Silence(PayloadPCMA); s[0] != 0xD5 {
		t.Errorf("PCMA silence = % x", s[:4])
	}
	tone := Tone(PayloadPCMU, 1000, 50*time.Millisecond)
	if len(tone) != 3*SamplesPerPacket {
		t.Fatalf("tone length = %d, want 3 packets", len(tone))
	}
	// 1 kHz at 8 kHz repeats every 8 samples.
	for i := 8; i < len(tone); i++ {
		if tone[i] != tone[i-8] {
			t.Fatalf("1 kHz tone not periodic at sample %d", i)
		}
	}
	if tone[2] == 0xFF {
		t.Error("tone peak encodes as silence")
	}
}
