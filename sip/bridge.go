package sip

import (
	"context"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// leg is one side of a call the Call Park application connected: a UAS session (caller or
// picker of a Group Call Pickup, parkee, retriever) or a UAC one (a rung-back parker).
type leg interface {
	ReadBye(*gosip.Request, gosip.ServerTransaction) error
	Bye(context.Context) error
	Close() error
}

// bridge is two legs the Call Park application connected. Media flows phone to phone; the
// application only passes a BYE on one leg to the other.
type bridge struct {
	a, b     leg
	aID, bID string // the legs' Call-IDs
}

// connectLegs records a and b as one call, so that a BYE on one ends the other.
func (rt *runtime) connectLegs(a leg, aID string, b leg, bID string) {
	br := &bridge{a: a, b: b, aID: aID, bID: bID}
	rt.mu.Lock()
	rt.bridges[aID] = br
	rt.bridges[bID] = br
	rt.mu.Unlock()
}

// byeBridge ends a connected call when either party hangs up: it answers the BYE and
// sends one on the other leg. It reports whether the BYE was for a connected call.
func (rt *runtime) byeBridge(req *gosip.Request, tx gosip.ServerTransaction) bool {
	if req.Method != gosip.BYE {
		return false
	}
	id := callID(req)
	rt.mu.Lock()
	br := rt.bridges[id]
	if br != nil {
		delete(rt.bridges, br.aID)
		delete(rt.bridges, br.bID)
	}
	rt.mu.Unlock()
	if br == nil {
		return false
	}
	rt.forgetLegs(br.aID, br.bID)
	this, other := br.a, br.b
	if id == br.bID {
		this, other = br.b, br.a
	}
	if err := this.ReadBye(req, tx); err != nil {
		rt.pool.log.Debug("BYE on Call Park leg", "err", err)
	}
	this.Close()
	go rt.byeLeg(other)
	return true
}

// byeLeg hangs up one leg of a call the Call Park application holds.
func (rt *runtime) byeLeg(l leg) {
	// A BYE may overtake the other leg's ACK (each request is handled in its own
	// goroutine); sipgo's Bye then rechecks only every T1, so wait for the ACK here.
	if uas, ok := l.(*sipgo.DialogServerSession); ok {
		for i := 0; i < 2000 && uas.LoadState() == gosip.DialogStateEstablished; i++ {
			time.Sleep(time.Millisecond)
		}
	}
	ctx, cancel := context.WithTimeout(rt.ctx, transactionTimeout())
	defer cancel()
	if err := l.Bye(ctx); err != nil {
		rt.pool.log.Debug("BYE to Call Park leg failed", "err", err)
	}
	l.Close()
}
