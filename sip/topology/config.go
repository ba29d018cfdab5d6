package topology

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/pickupsim/pickupsim/park"
)

// DefaultRegistrarFailoverTimer is how long a backup registrar waits after losing its
// primary before it accepts the primary's users (Lync's documented default).
const DefaultRegistrarFailoverTimer = 300 * time.Second

// DefaultDomain is the enterprise SIP domain when a topology names none.
const DefaultDomain = "contoso.com"

// ErrInvalidTopology wraps every reason a topology is refused.
var ErrInvalidTopology = errors.New("invalid topology")

// Topology is the static description of a deployment.
type Topology struct {
	// Domain is the enterprise SIP domain (users are sip:<name>@Domain).
	Domain string
	// RegistrarFailoverTimer is the backup registrar's wait before it accepts users of a
	// pool that stopped answering. Zero means the 300 s default.
	RegistrarFailoverTimer time.Duration
	// AutoRedirectOrbits makes the simulator run Set-CsCallParkOrbit itself: GroupPickup
	// ranges of a pool move to its backup when failover completes and back when failback
	// completes. Off by default, because redirecting them is the administrator's runbook step.
	AutoRedirectOrbits bool
	// PickupMembersOnly restricts Group Call Pickup to members of the group. Lync lets anyone
	// in the enterprise pick up, so it is off by default.
	PickupMembersOnly bool
	// DirectedPickupPrefix is the feature code a phone dials before a user's name to pick up
	// the call ringing that user (directed.go); empty means DefaultDirectedPickupPrefix.
	DirectedPickupPrefix string
	// Phones sets up the simulated phones (not real ones, which have their own settings).
	Phones PhoneSettings
	Pools  []Pool
	Users  []User
	Orbits []park.OrbitRange
}

// PhoneSettings are the settings every simulated phone of a topology shares, as a
// provisioning server would push them.
type PhoneSettings struct {
	// RTPTimeout: an established call that hears no RTP for this long is hung up (desk
	// phones' media inactivity timer). Zero means the phones' default, 30 s.
	RTPTimeout time.Duration
}

// Pool is one Front End pool.
type Pool struct {
	FQDN string
	// Backup is the FQDN of the paired pool; pairing is one-to-one and reciprocal.
	Backup string
	// Address is host:port where the pool's SIP server listens; empty lets the simulator
	// pick a loopback port.
	Address string
	// CPSDisabled turns the pool's Call Park application off.
	CPSDisabled bool
	// CPS holds the pool's Set-CsCpsConfiguration settings; the zero value means defaults.
	CPS *park.CPSConfig
	// Phase and Down are the disaster-recovery state the pool starts in (normal and up by
	// default), so that a restarted lab keeps a failover an administrator ran. A pool that
	// starts in the outage phase counts its registrar failover timer as already run out.
	Phase Phase
	Down  bool
}

// startsConsistent reports whether a pool can start in phase p, up or down, as the
// transition table can reach it.
func startsConsistent(p Phase, down bool) bool {
	switch p {
	case Normal, FailingBack:
		return !down
	case Outage:
		return down
	}
	return p == FailingOver || p == FailedOver
}

// User is one enterprise user.
type User struct {
	// Name is the user part of the SIP URI (sip:Name@Domain).
	Name     string
	HomePool string
	// PickupNumber is the user's Group Call Pickup number, empty for none.
	PickupNumber string
	// Password enables digest authentication for this user when set.
	Password string
	// PrivateLine is the user's second, private number (Lync's private line): a call to it
	// rings the user like any other, but Group Call Pickup never answers it.
	PrivateLine string
}

var privateLine = regexp.MustCompile(`^\+?[0-9]{3,15}$`)

var userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)

func (t *Topology) applyDefaults() {
	if t.Domain == "" {
		t.Domain = DefaultDomain
	}
	if t.RegistrarFailoverTimer == 0 {
		t.RegistrarFailoverTimer = DefaultRegistrarFailoverTimer
	}
	if t.DirectedPickupPrefix == "" {
		t.DirectedPickupPrefix = DefaultDirectedPickupPrefix
	}
}

// validatePools checks FQDNs, pairing and CPS settings.
func (t *Topology) validatePools() error {
	byFQDN := map[string]Pool{}
	for _, p := range t.Pools {
		if p.FQDN == "" {
			return fmt.Errorf("%w: a pool has no FQDN", ErrInvalidTopology)
		}
		if p.FQDN != strings.ToLower(strings.TrimSpace(p.FQDN)) {
			// The orbit table stores CallParkService in lower case; a pool spelt otherwise
			// could never be matched with its ranges.
			return fmt.Errorf("%w: pool FQDN %q must be written in lower case, without spaces", ErrInvalidTopology, p.FQDN)
		}
		if _, dup := byFQDN[p.FQDN]; dup {
			return fmt.Errorf("%w: pool %s is declared twice", ErrInvalidTopology, p.FQDN)
		}
		if !startsConsistent(p.Phase, p.Down) {
			state := "up"
			if p.Down {
				state = "down"
			}
			return fmt.Errorf("%w: pool %s cannot start %s in phase %s", ErrInvalidTopology, p.FQDN, state, p.Phase)
		}
		if p.CPS != nil {
			if err := p.CPS.Validate(); err != nil {
				return fmt.Errorf("%w: pool %s: %w", ErrInvalidTopology, p.FQDN, err)
			}
		}
		byFQDN[p.FQDN] = p
	}
	for _, p := range t.Pools {
		if p.Backup == "" {
			continue
		}
		b, ok := byFQDN[p.Backup]
		switch {
		case p.Backup == p.FQDN:
			return fmt.Errorf("%w: pool %s cannot back itself up", ErrInvalidTopology, p.FQDN)
		case !ok:
			return fmt.Errorf("%w: pool %s: backup pool %s is not in the topology", ErrInvalidTopology, p.FQDN, p.Backup)
		case b.Backup != p.FQDN:
			return fmt.Errorf("%w: pool %s is backed up by %s, so %s must be backed up by %s (backup pairs are one-to-one and reciprocal)",
				ErrInvalidTopology, p.FQDN, b.FQDN, b.FQDN, p.FQDN)
		}
	}
	if t.Phones.RTPTimeout < 0 {
		return fmt.Errorf("%w: phones' RTP timeout %s is negative", ErrInvalidTopology, t.Phones.RTPTimeout)
	}
	if t.RegistrarFailoverTimer < 0 {
		return fmt.Errorf("%w: registrar failover timer %s is negative", ErrInvalidTopology, t.RegistrarFailoverTimer)
	}
	return nil
}

// validateUsers checks names and home pools; pickup numbers are checked against the orbit
// table once it is built.
func (t *Topology) validateUsers() error {
	pools := map[string]bool{}
	for _, p := range t.Pools {
		pools[p.FQDN] = true
	}
	seen := map[string]bool{}
	for _, u := range t.Users {
		if !userName.MatchString(u.Name) {
			return fmt.Errorf("%w: user name %q is not a valid SIP user part", ErrInvalidTopology, u.Name)
		}
		if seen[u.Name] {
			return fmt.Errorf("%w: user %s is declared twice", ErrInvalidTopology, u.Name)
		}
		if strings.EqualFold(u.Name, ParkUser) {
			return fmt.Errorf("%w: user name %q is reserved: sip:%s@<domain> is the Call Park application", ErrInvalidTopology, u.Name, ParkUser)
		}
		seen[u.Name] = true
		if !pools[u.HomePool] {
			return fmt.Errorf("%w: user %s: home pool %q is not in the topology", ErrInvalidTopology, u.Name, u.HomePool)
		}
	}
	lines := map[string]string{}
	for _, u := range t.Users {
		if u.PrivateLine == "" {
			continue
		}
		switch owner, dup := lines[u.PrivateLine]; {
		case !privateLine.MatchString(u.PrivateLine):
			return fmt.Errorf("%w: user %s: private line %q is not a phone number (3 to 15 digits, optionally after +)", ErrInvalidTopology, u.Name, u.PrivateLine)
		case dup:
			return fmt.Errorf("%w: users %s and %s have the same private line %s", ErrInvalidTopology, owner, u.Name, u.PrivateLine)
		case seen[u.PrivateLine]:
			return fmt.Errorf("%w: user %s: private line %s is the name of a user", ErrInvalidTopology, u.Name, u.PrivateLine)
		}
		lines[u.PrivateLine] = u.Name
	}
	return nil
}
