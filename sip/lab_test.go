package sip

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/clock"
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
	phones map[string]*Phone
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
	l := &lab{t: t, net: n, clock: vc, phones: map[string]*Phone{}}
	for _, u := range topo.Users {
		ph, err := n.NewPhone(u.Name)
		require.NoError(t, err)
		l.phones[u.Name] = ph
	}
	return l
}

func (l *lab) phone(user string) *Phone { return l.phones[user] }

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
func (l *lab) ring(caller, callee string) (*Call, *Call) {
	l.t.Helper()
	out, err := l.phone(caller).Dial(callee)
	require.NoError(l.t, err)
	in, err := l.phone(callee).NextIncoming(ctx(l.t))
	require.NoError(l.t, err)
	_, err = out.WaitState(ctx(l.t), Ringing)
	require.NoError(l.t, err)
	return out, in
}
