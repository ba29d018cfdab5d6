package media

import (
	"math"
	"time"
)

// RTP/AVP static payload types and the timing of the G.711 streams a Stream sends
// (RFC 3551 §4.5.14, table 4).
const (
	PayloadPCMU uint8 = 0 // G.711 µ-law
	PayloadPCMA uint8 = 8 // G.711 A-law
	// PayloadTelephoneEvent is the dynamic payload type Offer uses for RFC 4733 DTMF.
	PayloadTelephoneEvent uint8 = 101

	ClockRate        = 8000                  // samples per second, both G.711 laws
	Ptime            = 20 * time.Millisecond // packetisation interval
	SamplesPerPacket = ClockRate * int(Ptime/time.Millisecond) / 1000
)

// Silence returns one packet (20 ms) of silence encoded for payload type pt:
// 0xFF for PCMU, 0xD5 for PCMA. The two laws encode zero differently, so a stream
// that switches payload type must switch its silence too.
func Silence(pt uint8) []byte {
	b := make([]byte, SamplesPerPacket)
	for i := range b {
		b[i] = encode(pt, 0)
	}
	return b
}

// Tone returns a sine tone of hz hertz lasting d (rounded up to whole 20 ms packets),
// encoded for payload type pt, at about -12 dBFS. It is meant for [Stream.SetPayload]:
// music on hold in the simulator is a tone a test can tell apart from a voice stream.
// Pick hz so that a whole number of periods fits in d (400 Hz or 1 kHz in 20 ms) and
// the loop has no click where it wraps.
func Tone(pt uint8, hz float64, d time.Duration) []byte {
	packets := max(1, int((d+Ptime-1)/Ptime))
	b := make([]byte, packets*SamplesPerPacket)
	const amplitude = 8192 // a quarter of full scale
	for i := range b {
		v := amplitude * math.Sin(2*math.Pi*hz*float64(i)/ClockRate)
		b[i] = encode(pt, int16(v))
	}
	return b
}

// encode encodes one linear sample with the law of payload type pt (PCMA for 8,
// PCMU otherwise).
func encode(pt uint8, sample int16) byte {
	if pt == PayloadPCMA {
		return linearToALaw(sample)
	}
	return linearToULaw(sample)
}

// linearToULaw is the ITU-T G.711 µ-law encoder (as in the Sun reference g711.c).
func linearToULaw(sample int16) byte {
	const bias, clip = 0x84, 32635
	s, sign := int(sample), 0
	if s < 0 {
		s, sign = -s, 0x80
	}
	s = min(s, clip) + bias
	exp := 7
	for mask := 0x4000; s&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (s >> (exp + 3)) & 0x0F
	return ^byte(sign | exp<<4 | mant)
}

// linearToALaw is the ITU-T G.711 A-law encoder (as in the Sun reference g711.c).
func linearToALaw(sample int16) byte {
	s := int(sample) >> 3 // A-law works on 13 bits
	mask := 0xD5
	if s < 0 {
		mask, s = 0x55, -s-1
	}
	seg := 0
	for end := 0x1F; seg < 8 && s > end; end = end<<1 | 1 {
		seg++
	}
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	shift := max(seg, 1)
	aval := seg<<4 | (s>>shift)&0x0F
	return byte(aval ^ mask)
}
