package phone

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/ids"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Directory is what a fleet of phones learns of the deployment it belongs to, as real
// phones learn it from DNS SRV records and in-band provisioning: the SIP domain, the
// address phones bind to, where each user registers and what every phone is set to.
// Package sip's Network provides it; a phone never sees a pool's internals.
type Directory interface {
	Domain() string
	// IP is the address the phones bind their SIP and RTP sockets to.
	IP() string
	Clock() clock.Clock
	// IDs is the seed of the identifiers every phone makes (package ids); nil: random.
	IDs() *ids.Source
	// User returns a user of the topology (its password answers digest challenges).
	User(name string) (topology.User, bool)
	// Registrars returns the addresses a user's phone registers with: its home pool, then
	// the home pool's backup.
	Registrars(user string) ([]string, error)
	// PhoneSettings is what the topology sets every simulated phone to.
	PhoneSettings() topology.PhoneSettings
	// OnRegistrarsChanged calls f, synchronously, each time users' registrars may have
	// changed (Move-CsUser, a new backup pairing), until cancel is called.
	OnRegistrarsChanged(f func()) (cancel func())
}

// Fleet is the simulated phones of a deployment's users: one phone per user it is asked
// for, each provisioned from the Directory, and the invariants that hold over all of
// them ("no dead legs").
type Fleet struct {
	dir    Directory
	cancel func()

	mu     sync.Mutex
	phones []*Phone

	dnsLookups atomic.Uint64 // the phones' refused name lookups (siputil.NoDNS)
}

// NewFleet starts an empty fleet of phones for dir's users. Close it before the network.
func NewFleet(dir Directory) *Fleet {
	f := &Fleet{dir: dir}
	f.cancel = dir.OnRegistrarsChanged(f.refreshRegistrars)
	return f
}

// NewPhone creates a phone for an enterprise user, with its home pool and backup registrar.
func (f *Fleet) NewPhone(user string) (*Phone, error) {
	regs, err := f.dir.Registrars(user)
	if err != nil {
		return nil, fmt.Errorf("new phone: %w", err)
	}
	u, _ := f.dir.User(user)
	ph, err := New(Config{User: user, Domain: f.dir.Domain(), Registrars: regs, IP: f.dir.IP(), Password: u.Password,
		DNSLookups: &f.dnsLookups, Clock: f.dir.Clock(), RTPTimeout: f.dir.PhoneSettings().RTPTimeout, IDs: f.dir.IDs().Gen(user)})
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.phones = append(f.phones, ph)
	f.mu.Unlock()
	return ph, nil
}

// Close closes every phone of the fleet (their cables pulled: nothing is hung up).
func (f *Fleet) Close() {
	f.cancel()
	for _, ph := range f.all() {
		ph.Close()
	}
}

func (f *Fleet) all() []*Phone {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*Phone(nil), f.phones...)
}

// refreshRegistrars gives every phone its user's registrars as the directory has them now.
func (f *Fleet) refreshRegistrars() {
	for _, ph := range f.all() {
		if regs, err := f.dir.Registrars(ph.user); err == nil {
			ph.SetRegistrars(regs)
		}
	}
}

// HandlerPanics returns how many SIP handlers of the fleet's phones panicked (each was
// recovered and answered 500).
func (f *Fleet) HandlerPanics() uint64 {
	var total uint64
	for _, ph := range f.all() {
		total += ph.panics.Load()
	}
	return total
}

// DNSLookups returns how many name lookups the fleet's phones attempted (each refused). It
// stays zero: phones send only to IP addresses.
func (f *Fleet) DNSLookups() uint64 { return f.dnsLookups.Load() }

// DeadLegHorizon is how long the phones' timers need to end every call whose far end
// died: a session interval (a refresh is due within half of it, the other side's expiry
// within all of it), longer than any RTP timeout a topology sets in practice.
func (f *Fleet) DeadLegHorizon() time.Duration {
	rtp := f.dir.PhoneSettings().RTPTimeout
	if rtp == 0 {
		rtp = DefaultRTPTimeout
	}
	return max(lync.SessionExpires, rtp) + time.Second
}

// CheckNoDeadLegs verifies the "no dead legs" invariant on every phone of the fleet:
// every established call has a live far end (RTP arrives, its dialog's peer is
// reachable). Run it once the clock has moved DeadLegHorizon past the last event: a leg
// whose far end died must have ended by then; ctx bounds the wait for calls that are
// ending as it looks. Tests run it after every SIP test, replays after every scenario.
func (f *Fleet) CheckNoDeadLegs(ctx context.Context) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, ph := range f.all() {
		wg.Go(func() {
			dead := ph.DeadLegs(ctx)
			mu.Lock()
			errs = append(errs, dead...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
