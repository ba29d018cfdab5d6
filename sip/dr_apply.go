package sip

import (
	"context"
	"slices"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/pickup"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// dropLost removes from the pool's pickup queues the calls a transition made unanswerable
// through Group Call Pickup (seed: calls in the queue when failover or failback starts; calls
// a failed pool was ringing for this pool's queue).
func (p *Pool) dropLost(l topology.LostCalls) {
	rt := p.runtime()
	if rt == nil || l.Empty() {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	lost := rt.queues.Drop(func(c pickup.Call) bool {
		return slices.Contains(l.Callees, c.Callee) || (c.Holder != "" && slices.Contains(l.HeldBy, c.Holder))
	})
	for _, c := range lost {
		delete(rt.heldDialogs, c.ID)
		p.log.Info("queued call lost for group call pickup", "call", c.ID, "callee", c.Callee, "number", c.Number, "held_by", c.Holder)
	}
}

// stopCallPark stops the pool's Call Park application while the pool keeps answering (a
// planned failover): its queues are emptied, and the calls parked on it are disconnected
// with ms-diagnostics 35012 "Parking server is in draining mode", so that the failover has
// "no calls in this state" as the Call Park experience table says. Calls it already bridged
// stay up ("Established call: calls stay connected").
func (p *Pool) stopCallPark() {
	rt := p.runtime()
	if rt == nil {
		return
	}
	rt.mu.Lock()
	lost := rt.queues.Drop(func(pickup.Call) bool { return true })
	clear(rt.heldDialogs)
	rt.mu.Unlock()
	for _, c := range lost {
		p.log.Info("queued call lost: the Call Park application stopped", "call", c.ID, "callee", c.Callee, "number", c.Number)
	}
	pk := rt.parking
	pk.mu.Lock()
	var held []*heldCall
	for _, h := range pk.held {
		held = append(held, h)
	}
	pk.mu.Unlock()
	for _, h := range held {
		pk.leave(h.p, siputil.CallID(h.parkee.InviteRequest))
		p.log.Info("parked call disconnected: the Call Park application stopped", "orbit", h.p.Orbit, "parkee", h.p.Parkee)
		p.sendOnOwn(func() { pk.hangUpParkee(h.parkee, topology.DiagDraining) })
	}
}

// hangUpParkee ends a parked call's leg with a BYE carrying Lync's ms-diagnostics code.
func (pk *parking) hangUpParkee(parkee *sipgo.DialogServerSession, diag int) {
	rt := pk.rt
	bye := gosip.NewRequest(gosip.BYE, *parkee.InviteRequest.Contact().Address.Clone())
	bye.AppendHeader(lync.Diagnostics(diag, rt.pool.fqdn))
	ctx, cancel := context.WithTimeout(rt.ctx, siputil.TransactionTimeout())
	defer cancel()
	if err := parkee.WriteBye(ctx, bye); err != nil {
		rt.pool.log.Debug("BYE to parkee failed", "err", err, "diagnostic", diag)
	}
	parkee.Close()
}
