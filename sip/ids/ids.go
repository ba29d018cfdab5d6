// Package ids makes the identifiers the simulator writes on the wire: Call-IDs, tags, Via
// branches, CSeq numbers, SDP session ids, RTP SSRCs and sequence numbers, digest nonces.
//
// A replay draws them from one seed (Source), so that two replays of a scenario with the
// same seed write the same messages. Each user agent (a pool, a phone) has its own
// generator (Gen), keyed by its name, and each identifier is a hash of the seed, the
// owner and what the identifier is for (the request it names, the call it belongs to) or a
// count of the owner's own acts: never a draw from a stream shared with other agents or
// other replays, so an identifier does not depend on what else runs, or in which order
// concurrent requests are handled. RFC 3261 asks only that tags, branches and Call-IDs be
// unique (§8.1.1.4, §8.1.1.7, §19.3); a hash of what distinguishes them is, and RFC 3261
// §16.6 step 8 suggests a proxy derive its branch from the request it forwards.
//
// A nil Gen (a lab, `pickupsim serve`) draws every identifier from crypto/rand.
package ids

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"regexp"
	"strconv"
	"sync"
)

// Source is one replay's seed, and the names of its addresses.
type Source struct {
	seed uint64

	mu    sync.RWMutex
	names map[string]string // "ip:port" -> the user agent's name
}

// New returns the source of a replay seeded with seed.
func New(seed uint64) *Source { return &Source{seed: seed, names: map[string]string{}} }

// Name names the user agent at addr ("ip:port"). An identifier derived from what names an
// address (a Via branch hashes the request's destination) derives it from the name: the
// ports a replay binds are the kernel's choice, different each time.
func (s *Source) Name(addr, name string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.names[addr] = name
	s.mu.Unlock()
}

// addrPattern is an IPv4 address with a port, as the simulator writes them.
var addrPattern = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d{1,5}\b`)

// Symbolic returns text with each named address replaced by its name.
func (s *Source) Symbolic(text string) string {
	if s == nil {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return addrPattern.ReplaceAllStringFunc(text, func(a string) string {
		if n, ok := s.names[a]; ok {
			return n
		}
		return a
	})
}

// Seed returns the source's seed.
func (s *Source) Seed() uint64 { return s.seed }

// Gen returns the generator of the user agent named owner. A nil Source gives a nil Gen
// (random identifiers).
func (s *Source) Gen(owner string) *Gen {
	if s == nil {
		return nil
	}
	return &Gen{src: s, seed: s.seed, owner: owner, counts: map[string]uint64{}}
}

// Gen makes one user agent's identifiers. Its methods are safe for concurrent use; a nil
// Gen makes random ones.
type Gen struct {
	src   *Source
	seed  uint64
	owner string

	mu     sync.Mutex
	counts map[string]uint64
}

// Seeded reports whether g derives its identifiers from a seed.
func (g *Gen) Seeded() bool { return g != nil }

// sum is the hash of the seed, the owner and parts; random bytes for a nil Gen.
func (g *Gen) sum(parts ...string) [sha256.Size]byte {
	var out [sha256.Size]byte
	if g == nil {
		rand.Read(out[:])
		return out
	}
	h := sha256.New()
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], g.seed)
	h.Write(seed[:])
	h.Write([]byte(g.owner))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	h.Sum(out[:0])
	return out
}

var token = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Token returns 16 characters (80 bits) that stand for parts: the same parts give the
// same token, for the same seed and owner.
func (g *Gen) Token(parts ...string) string {
	s := g.sum(parts...)
	return token.EncodeToString(s[:10])
}

// Uint64 returns a number that stands for parts.
func (g *Gen) Uint64(parts ...string) uint64 {
	s := g.sum(parts...)
	return binary.BigEndian.Uint64(s[:8])
}

// Uint32 returns a non-zero number that stands for parts.
func (g *Gen) Uint32(parts ...string) uint32 {
	s := g.sum(parts...)
	return max(1, binary.BigEndian.Uint32(s[:4]))
}

// Next returns the token of the owner's next act of a kind ("call", "publish"): the
// first, second... call a phone places. A user agent's acts of one kind are sequential
// in a replay (a step at a time), so the count does not depend on other agents.
func (g *Gen) Next(kind string) string {
	if g == nil {
		return g.Token()
	}
	g.mu.Lock()
	g.counts[kind]++
	n := g.counts[kind]
	g.mu.Unlock()
	return g.Token(kind, strconv.FormatUint(n, 10))
}
