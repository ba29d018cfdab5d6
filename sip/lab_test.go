package sip

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/media"
	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

const (
	pool01 = "pool01.contoso.com"
	pool02 = "pool02.contoso.com"
)

// lab is a running two-pool deployment with phones, on a virtual clock.
type lab struct {
	t      *testing.T
	net    *Network
	clock  *clock.Virtual
	fleet  *phone.Fleet // the users' phones
	phones map[string]*phone.Phone
}

// labTopology: pool01 and pool02 back each other up. alice, bob, carol and dave are homed on
// pool01; bob and carol are in pickup group 100 (range on pool01); erin is on pool02.
func labTopology() topology.Topology {
	return topology.Topology{
		Pools: []topology.Pool{
			{FQDN: pool01, Backup: pool02},
			{FQDN: pool02, Backup: pool01},
		},
		Users: []topology.User{
			{Name: "alice", HomePool: pool01},
			{Name: "bob", HomePool: pool01, PickupNumber: "100"},
			{Name: "carol", HomePool: pool01, PickupNumber: "100"},
			{Name: "dave", HomePool: pool01},
			{Name: "erin", HomePool: pool02, PickupNumber: "200"},
			{Name: "frank", HomePool: pool02, PickupNumber: "200"},
		},
		Orbits: []park.OrbitRange{
			{Identity: "pickup-pool01", NumberRangeStart: "100", NumberRangeEnd: "199", CallParkService: pool01, Type: park.GroupPickup},
			{Identity: "pickup-pool02", NumberRangeStart: "200", NumberRangeEnd: "299", CallParkService: pool02, Type: park.GroupPickup},
			{Identity: "park-pool01", NumberRangeStart: "7000", NumberRangeEnd: "7099", CallParkService: pool01, Type: park.CallPark},
		},
	}
}

func newLab(t *testing.T, topo topology.Topology) *lab {
	t.Helper()
	vc := clock.NewVirtual(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	n, _, err := Start(Config{Topology: topo, Clock: vc})
	require.NoError(t, err)
	t.Cleanup(n.Close)
	fleet := phone.NewFleet(n)
	t.Cleanup(fleet.Close)
	// After every test: no orbit leaked (each free, or held by exactly one parked call).
	t.Cleanup(func() { assert.NoError(t, n.CheckParking(), "parking lot invariant") })
	// After every test: no phone is left in an established call whose far end is gone,
	// once the phones' timers had their time (issue 9: "no dead legs").
	t.Cleanup(func() { checkNoDeadLegs(t, fleet, vc) })
	l := &lab{t: t, net: n, clock: vc, fleet: fleet, phones: map[string]*phone.Phone{}}
	for _, u := range topo.Users {
		ph, err := fleet.NewPhone(u.Name)
		require.NoError(t, err)
		l.phones[u.Name] = ph
	}
	return l
}

func (l *lab) phone(user string) *phone.Phone { return l.phones[user] }

// checkNoDeadLegs moves the clock past every phone timer and checks that no established
// call is left whose far end is gone.
func checkNoDeadLegs(t *testing.T, fleet *phone.Fleet, vc *clock.Virtual) {
	t.Helper()
	vc.Advance(fleet.DeadLegHorizon())
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	assert.NoError(t, fleet.CheckNoDeadLegs(c), "no dead legs")
}

// handlerPanics counts the SIP handler panics of the lab's pools and phones.
func (l *lab) handlerPanics() uint64 { return l.net.HandlerPanics() + l.fleet.HandlerPanics() }

// dnsLookups counts the name lookups the lab's pools and phones attempted.
func (l *lab) dnsLookups() uint64 { return l.net.DNSLookups() + l.fleet.DNSLookups() }

// in returns the lab reporting to t, for use inside a sub-test.
func (l *lab) in(t *testing.T) *lab {
	c := *l
	c.t = t
	return &c
}

func (l *lab) registerAll(users ...string) {
	l.t.Helper()
	for _, u := range users {
		_, err := l.phone(u).Register(ctx(l.t))
		require.NoError(l.t, err, "register %s", u)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// ring makes caller dial callee and waits until the callee's phone rings.
func (l *lab) ring(caller, callee string) (*phone.Call, *phone.Call) {
	l.t.Helper()
	out, err := l.phone(caller).Dial(callee)
	require.NoError(l.t, err)
	in, err := l.phone(callee).NextIncoming(ctx(l.t))
	require.NoError(l.t, err)
	_, err = out.WaitState(ctx(l.t), phone.Ringing)
	require.NoError(l.t, err)
	return out, in
}

func (l *lab) do(op func(string) error, pool string) {
	l.t.Helper()
	require.NoError(l.t, op(pool))
}

// failOver walks pool01 from normal to failed over: outage, the registrar failover timer,
// Invoke-CsPoolFailOver and its completion.
func (l *lab) outageAndTimer() {
	l.t.Helper()
	l.do(l.net.Outage, pool01)
	l.clock.Advance(topology.DefaultRegistrarFailoverTimer)
}

// reregister registers users again, as their clients do when signed out, and checks
// where they land and in which mode.
func (l *lab) reregister(mode topology.Mode, pool string, users ...string) {
	l.t.Helper()
	p, _ := l.net.Pool(pool)
	for _, u := range users {
		reg, err := l.phone(u).Register(ctx(l.t))
		require.NoError(l.t, err, "register %s", u)
		require.Equal(l.t, p.Addr(), reg.Registrar, "%s registered on the wrong pool", u)
		require.Equal(l.t, mode, reg.Mode, "%s's mode read off presence-state", u)
	}
}

// dialFails dials number from user and returns the refusal.
func (l *lab) dialFails(user, number string) lync.Outcome {
	l.t.Helper()
	c, err := l.phone(user).Dial(number)
	require.NoError(l.t, err)
	st, err := c.WaitState(ctx(l.t), phone.Established, phone.Failed)
	require.NoError(l.t, err)
	require.Equal(l.t, phone.Failed, st, "%s dialling %s should fail", user, number)
	return c.Outcome()
}

// pickUp dials number from picker and expects to be connected to caller.
func (l *lab) pickUp(picker, number, caller string) *phone.Call {
	l.t.Helper()
	c, err := l.phone(picker).Dial(number)
	require.NoError(l.t, err)
	_, err = c.WaitState(ctx(l.t), phone.Established)
	require.NoError(l.t, err)
	require.Equal(l.t, caller, c.Remote(), "%s picked up the wrong call", picker)
	return c
}

// mediaFlows waits for n more packets each way between two established calls and checks
// none was lost since the call began, beyond what the network drops: a test run in a
// lossy network namespace says how much in PICKUPSIM_NETWORK_LOSS (0.05 for 5 %).
func mediaFlows(t *testing.T, a, b *phone.Call, n int) {
	t.Helper()
	loss, _ := strconv.ParseFloat(os.Getenv("PICKUPSIM_NETWORK_LOSS"), 64)
	for _, pair := range [][2]*phone.Call{{a, b}, {b, a}} {
		rx, tx := pair[0], pair[1]
		before := rx.Media.Stats().Sources[tx.Media.SSRC()].Received
		require.NoError(t, rx.Media.WaitReceived(ctx(t), tx.Media.SSRC(), before+n))
		src := rx.Media.Stats().Sources[tx.Media.SSRC()]
		require.LessOrEqual(t, src.Lost, media.PlausibleLoss(src.Received+src.Lost, loss), "RTP lost by %s", rx.Phone().User())
	}
}
