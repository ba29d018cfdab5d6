package sip

import (
	"time"

	"github.com/pickupsim/pickupsim/sip/topology"
)

// lampModel is what a pool asks the deployment model about busy lamps and directed
// pickup (sip/topology watch.go and directed.go), each answer a value taken at the clock's
// current time.
type lampModel interface {
	// watch reads the user part of a dialog SUBSCRIBE's Request-URI.
	watch(target string) (topology.Watched, *topology.Rejection)
	mayWatch(subscriber topology.Caller, w topology.Watched) *topology.Rejection
	// watchSource is the pool whose memory holds w's dialogs now, or why none does.
	watchSource(w topology.Watched) topology.WatchSource
	watchedOrbits(w topology.Watched) []string
	admitDirectedPickup(picker topology.Caller, callee string, private bool) *topology.Rejection
	directedPickupPrefix() string
}

func (n *Network) watch(target string) (topology.Watched, *topology.Rejection) {
	type answer struct {
		w   topology.Watched
		rej *topology.Rejection
	}
	a := decide(n, func(d *topology.Deployment, _ time.Time) answer {
		w, rej := d.ResolveWatch(target)
		return answer{w, rej}
	})
	return a.w, a.rej
}

func (n *Network) mayWatch(subscriber topology.Caller, w topology.Watched) *topology.Rejection {
	return decide(n, func(d *topology.Deployment, _ time.Time) *topology.Rejection { return d.MayWatch(subscriber, w) })
}

func (n *Network) watchSource(w topology.Watched) topology.WatchSource {
	return decide(n, func(d *topology.Deployment, now time.Time) topology.WatchSource { return d.WatchSource(w, now) })
}

func (n *Network) watchedOrbits(w topology.Watched) []string {
	return decide(n, func(d *topology.Deployment, _ time.Time) []string { return d.WatchedOrbits(w) })
}

func (n *Network) admitDirectedPickup(picker topology.Caller, callee string, private bool) *topology.Rejection {
	return decide(n, func(d *topology.Deployment, now time.Time) *topology.Rejection {
		return d.AdmitDirectedPickup(picker, callee, private, now)
	})
}

func (n *Network) directedPickupPrefix() string {
	return decide(n, func(d *topology.Deployment, _ time.Time) string { return d.DirectedPickupPrefix() })
}

// lampsMayChange tells every running pool that the deployment changed (a disaster-recovery
// event, an orbit range redirected, a pool added or removed), so each renders its lamps
// again: a lamp whose resource moved, or whose pool went down, shows the truth in its next
// NOTIFY. In a deployment of separate processes this is what the pools learn from the
// Central Management store and each other's heartbeats.
func (n *Network) lampsMayChange() {
	for _, p := range n.allPools() {
		if rt := p.runtime(); rt != nil {
			rt.lamps.changed()
		}
	}
}

// DirectedPickupPrefix is the feature code phones dial before a user's name to pick up the
// call ringing that user (the topology's, ** by default).
func (n *Network) DirectedPickupPrefix() string { return n.directedPickupPrefix() }
