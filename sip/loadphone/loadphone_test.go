package loadphone_test

import (
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/loadphone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

const (
	pool01 = "pool01.contoso.com"
	pool02 = "pool02.contoso.com"
)

// lab is two paired pools on loopback and a population of load phones for their users:
// alice, bob, carol and dave homed on pool01 (bob and carol in pickup group 100), erin
// homed on pool02. dave registers over TCP.
type lab struct {
	t   *testing.T
	net *sip.Network
	pop *loadphone.Population

	mu       sync.Mutex
	incoming map[string]func(*loadphone.Incoming) // what each user's phone does when it rings
	answered map[string]*loadphone.Leg            // the last call each user's phone answered itself
}

func newLab(t *testing.T, keep loadphone.KeepPolicy) *lab {
	t.Helper()
	topo := topology.Topology{
		RegistrarFailoverTimer: time.Second,
		Pools:                  []topology.Pool{{FQDN: pool01, Backup: pool02}, {FQDN: pool02, Backup: pool01}},
		Users: []topology.User{
			{Name: "alice", HomePool: pool01}, {Name: "bob", HomePool: pool01, PickupNumber: "100"},
			{Name: "carol", HomePool: pool01, PickupNumber: "100"}, {Name: "dave", HomePool: pool01},
			{Name: "erin", HomePool: pool02},
		},
		Orbits: []park.OrbitRange{
			{Identity: "pickup-pool01", NumberRangeStart: "100", NumberRangeEnd: "199", CallParkService: pool01, Type: park.GroupPickup},
			{Identity: "park-pool01", NumberRangeStart: "7000", NumberRangeEnd: "7099", CallParkService: pool01},
		},
	}
	n, _, err := sip.Start(sip.Config{Topology: topo})
	require.NoError(t, err)
	t.Cleanup(n.Close)
	addr := func(fqdn string) netip.AddrPort {
		p, _ := n.Pool(fqdn)
		return netip.MustParseAddrPort(p.Addr())
	}
	l := &lab{t: t, net: n, incoming: map[string]func(*loadphone.Incoming){}, answered: map[string]*loadphone.Leg{}}
	var phones []loadphone.PhoneConfig
	for _, u := range topo.Users {
		home, backup := addr(pool01), addr(pool02)
		if u.HomePool == pool02 {
			home, backup = backup, home
		}
		phones = append(phones, loadphone.PhoneConfig{User: u.Name, Registrars: []netip.AddrPort{home, backup}, TCP: u.Name == "dave"})
	}
	pop, err := loadphone.New(loadphone.Config{Domain: "contoso.com", Sockets: 2, RequestTimeout: 500 * time.Millisecond, Keep: keep,
		Events: loadphone.Events{Incoming: l.ring}}, phones)
	require.NoError(t, err)
	t.Cleanup(pop.Close)
	l.pop = pop
	return l
}

// ring runs what the test set for the called user, or answers at once.
func (l *lab) ring(in *loadphone.Incoming) {
	l.mu.Lock()
	f := l.incoming[in.Phone().User()]
	if f == nil {
		l.answered[in.Phone().User()] = in.Leg
	}
	l.mu.Unlock()
	if f == nil {
		in.Answer(nil)
		return
	}
	f(in)
}

func (l *lab) onRing(user string, f func(*loadphone.Incoming)) {
	l.mu.Lock()
	l.incoming[user] = f
	l.mu.Unlock()
}

func (l *lab) phone(user string) *loadphone.Phone {
	ph, ok := l.pop.Phone(user)
	require.True(l.t, ok, user)
	return ph
}

func (l *lab) register(users ...string) {
	for _, u := range users {
		st, out := l.phone(u).Register()
		require.True(l.t, out.OK(), "%s: %s", u, out)
		require.Equal(l.t, loadphone.Normal, st.Mode, u)
	}
}

func (l *lab) poolAddr(fqdn string) netip.AddrPort {
	p, _ := l.net.Pool(fqdn)
	return netip.MustParseAddrPort(p.Addr())
}

func uri(user string) gosip.Uri { return gosip.Uri{Scheme: "sip", User: user, Host: "contoso.com"} }

func TestLoadPhonesRegisterOnSharedSocketsAndCall(t *testing.T) {
	l := newLab(t, loadphone.KeepPolicy{})
	l.register("alice", "bob", "dave")
	reg := l.net.Pools()
	require.Equal(t, pool01, reg[0].FQDN)
	p1, _ := l.net.Pool(pool01)
	assert.Equal(t, map[string]topology.Mode{"alice": topology.NormalMode, "bob": topology.NormalMode, "dave": topology.NormalMode},
		p1.Registered(), "the pool holds the three registrations")
	assert.Equal(t, l.poolAddr(pool01), l.phone("dave").State().Registrar)

	var bobLeg *loadphone.Leg
	answered := make(chan struct{})
	l.onRing("bob", func(in *loadphone.Incoming) {
		bobLeg = in.Leg
		in.Answer(nil)
		close(answered)
	})
	leg, out := l.phone("alice").Invite(uri("bob"), loadphone.InviteOptions{})
	require.True(t, out.OK(), out.String())
	<-answered
	select {
	case <-bobLeg.Confirmed():
	case <-time.After(2 * time.Second):
		t.Fatal("bob's leg was never acknowledged")
	}
	assert.Equal(t, "alice", bobLeg.Caller())
	bye := leg.Bye()
	assert.Equal(t, 200, bye.Code, bye.String())
	select {
	case <-bobLeg.Done():
		assert.Equal(t, "hung up by the other party", bobLeg.EndReason())
	case <-time.After(2 * time.Second):
		t.Fatal("bob's leg did not end on alice's BYE")
	}

	// A call from the TCP phone, and one to a user nobody registered.
	leg, out = l.phone("dave").Invite(uri("alice"), loadphone.InviteOptions{})
	require.True(t, out.OK(), out.String())
	leg.Bye()
	_, out = l.phone("alice").Invite(uri("erin"), loadphone.InviteOptions{})
	assert.Equal(t, 480, out.Code, out.String())
	assert.Contains(t, out.Warning, "erin")
}

func TestLoadPhonesPickUpParkAndRetrieve(t *testing.T) {
	l := newLab(t, loadphone.KeepPolicy{})
	l.register("alice", "bob", "carol", "dave")

	// alice calls bob, who lets it ring; carol picks it up by dialling 100.
	bobRings := make(chan *loadphone.Leg, 1)
	l.onRing("bob", func(in *loadphone.Incoming) { bobRings <- in.Leg })
	type result struct {
		leg *loadphone.Leg
		out loadphone.Outcome
	}
	callerDone := make(chan result, 1)
	go func() {
		leg, out := l.phone("alice").Invite(uri("bob"), loadphone.InviteOptions{})
		callerDone <- result{leg, out}
	}()
	bob := <-bobRings
	picker, out := l.phone("carol").Invite(uri("100"), loadphone.InviteOptions{})
	require.True(t, out.OK(), out.String())
	caller := <-callerDone
	require.True(t, caller.out.OK(), caller.out.String())
	<-bob.Done()
	assert.Contains(t, bob.EndReason(), "Call completed elsewhere")
	assert.Equal(t, 200, caller.leg.Bye().Code, "the caller hangs up through the Call Park application")
	select {
	case <-picker.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("the picker's leg did not end when the caller hung up")
	}

	// Nothing rings in group 100 now.
	_, out = l.phone("carol").Invite(uri("100"), loadphone.InviteOptions{})
	assert.Equal(t, 404, out.Code, out.String())
	assert.Equal(t, topology.DiagOrbitNotFound, out.Diagnostic)

	// dave (on TCP) calls alice, who parks him; bob retrieves the call from the orbit: the
	// Call Park application re-INVITEs dave at his Contact, over UDP as it says.
	daveLeg, out := l.phone("dave").Invite(uri("alice"), loadphone.InviteOptions{})
	require.True(t, out.OK(), out.String())
	aliceSide := l.answeredBy("alice")
	select {
	case <-aliceSide.Confirmed():
	case <-time.After(2 * time.Second):
		t.Fatal("alice's leg was never acknowledged")
	}
	park := aliceSide.Refer("sip:park@contoso.com", 5*time.Second)
	require.True(t, park.OK(), park.String())
	require.NotEmpty(t, park.ParkOrbit)
	assert.True(t, strings.HasPrefix(park.ParkOrbit, "70"), park.ParkOrbit)
	assert.Equal(t, 200, aliceSide.Bye().Code)
	<-daveLeg.Done()
	assert.Len(t, l.mustPool(pool01).ParkedCalls(), 1)

	retriever, out := l.phone("bob").Invite(uri(park.ParkOrbit), loadphone.InviteOptions{})
	require.True(t, out.OK(), out.String())
	assert.Empty(t, l.mustPool(pool01).ParkedCalls())
	assert.Equal(t, 200, retriever.Bye().Code)
}

func (l *lab) mustPool(fqdn string) *sip.Pool {
	p, ok := l.net.Pool(fqdn)
	require.True(l.t, ok)
	return p
}

// answeredBy returns the call user's phone answered last.
func (l *lab) answeredBy(user string) *loadphone.Leg {
	l.mu.Lock()
	defer l.mu.Unlock()
	require.NotNil(l.t, l.answered[user], "%s answered no call", user)
	return l.answered[user]
}

// An outage of pool01: the TCP phone learns it at once from its connection; the phones
// keep registering, are refused with 503 and Retry-After by the backup until the
// registrar failover timer (1 s here) runs out, then registered there in resiliency mode.
func TestLoadPhonesFindTheBackupRegistrarAfterAnOutage(t *testing.T) {
	var mu sync.Mutex
	var events []loadphone.RegisterEvent
	var lost []string
	l := newLabWith(t, loadphone.Events{
		Registered: func(e loadphone.RegisterEvent) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		},
		StateChanged: func(ph *loadphone.Phone, from, to loadphone.State) {
			if to.Mode == loadphone.Offline && from.Mode != loadphone.Offline {
				mu.Lock()
				lost = append(lost, ph.User())
				mu.Unlock()
			}
		},
	}, loadphone.KeepPolicy{Refresh: 300 * time.Millisecond, Retry: 200 * time.Millisecond, Jitter: 100 * time.Millisecond})
	for _, u := range []string{"alice", "dave"} {
		l.phone(u).KeepRegistered(0)
	}
	eventually(t, "alice and dave registered on pool01", func() bool {
		return l.phone("alice").State().Mode == loadphone.Normal && l.phone("dave").State().Mode == loadphone.Normal
	})
	outage := time.Now()
	require.NoError(t, l.net.Outage(pool01))
	eventually(t, "dave's TCP connection dropped", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lost) > 0 && lost[0] == "dave"
	})
	assert.Less(t, time.Since(outage), 500*time.Millisecond, "the TCP phone noticed before any refresh")
	backup := l.poolAddr(pool02)
	eventually(t, "both on the backup registrar in resiliency mode", func() bool {
		return l.phone("alice").State() == loadphone.State{Registrar: backup, Mode: loadphone.Resiliency} &&
			l.phone("dave").State() == loadphone.State{Registrar: backup, Mode: loadphone.Resiliency}
	})
	assert.GreaterOrEqual(t, time.Since(outage), time.Second, "not before the registrar failover timer ran out")
	mu.Lock()
	defer mu.Unlock()
	var refused int
	for _, e := range events {
		if e.Registrar == backup && e.Outcome.Code == 503 && !e.Outcome.NoAnswer {
			refused++
			assert.Positive(t, e.Outcome.RetryAfter, "a 503 of the backup registrar says when to retry")
		}
	}
	assert.Positive(t, refused, "the backup registrar refused the phones while the timer ran")
}

func newLabWith(t *testing.T, ev loadphone.Events, keep loadphone.KeepPolicy) *lab {
	l := newLab(t, keep)
	l.pop.Close()
	var phones []loadphone.PhoneConfig
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		phones = append(phones, loadphone.PhoneConfig{User: u, Registrars: []netip.AddrPort{l.poolAddr(pool01), l.poolAddr(pool02)}, TCP: u == "dave"})
	}
	ev.Incoming = l.ring
	pop, err := loadphone.New(loadphone.Config{Domain: "contoso.com", Sockets: 2, RequestTimeout: 300 * time.Millisecond, Keep: keep, Events: ev}, phones)
	require.NoError(t, err)
	t.Cleanup(pop.Close)
	l.pop = pop
	return l
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
