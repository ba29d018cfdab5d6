package sip

import (
	"context"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
)

// leg is one side of a call the Call Park application connected: a UAS session (caller or
// picker of a Group Call Pickup, parkee, retriever) or a UAC one (a rung-back parker).
type leg interface {
	ReadBye(*gosip.Request, gosip.ServerTransaction) error
	Bye(context.Context) error
	Close() error
}

// bridge is two legs the Call Park application connected. Media flows phone to phone; the
// application only passes a BYE on one leg to the other. Every way a bridged call ends (a
// BYE, a leg never acknowledged, a pickup that could not complete) goes through endBridge or
// byeBridge, which take it out of rt.bridges: the queue entry is gone already, and the
// active-calls gauge reads rt.bridges.
type bridge struct {
	a, b     leg
	aID, bID string    // the legs' Call-IDs
	since    time.Time // when the application connected them (status.go)
	// bPending: b is a picker whose INVITE is not answered yet. If a ends first, b gets no
	// BYE: the pickup refuses it instead (answerPending).
	bPending bool
	ended    bool
}

// connectLegs records a and b, both answered, as one call, so that a BYE on one ends the
// other.
func (rt *runtime) connectLegs(a leg, aID string, b leg, bID string) *bridge {
	return rt.addBridge(&bridge{a: a, b: b, aID: aID, bID: bID})
}

// connectPickup records a picked-up call before the picker is answered: the caller's leg
// is being answered, the picker's (b) will be once the caller's 200 is out.
func (rt *runtime) connectPickup(caller leg, callerID string, picker leg, pickerID string) *bridge {
	return rt.addBridge(&bridge{a: caller, b: picker, aID: callerID, bID: pickerID, bPending: true})
}

func (rt *runtime) addBridge(br *bridge) *bridge {
	br.since = rt.pool.dep.Clock().Now()
	rt.mu.Lock()
	rt.bridges[br.aID] = br
	rt.bridges[br.bID] = br
	rt.mu.Unlock()
	return br
}

// answerPending marks the picker of br as answered, unless the call ended meanwhile (the
// caller hung up as the pickup answered): then it reports false and the picker must be
// refused.
func (rt *runtime) answerPending(br *bridge) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if br.ended {
		return false
	}
	br.bPending = false
	return true
}

// takeBridge ends br's bookkeeping once: it reports false if br had already ended.
// Callers hold no lock.
func (rt *runtime) takeBridge(br *bridge) (pending, first bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if br.ended {
		return br.bPending, false
	}
	br.ended = true
	rt.forgetLegs(br.aID, br.bID) // their session-timer SDP (cps_session_timer.go)
	if rt.bridges[br.aID] == br {
		delete(rt.bridges, br.aID)
	}
	if rt.bridges[br.bID] == br {
		delete(rt.bridges, br.bID)
	}
	return br.bPending, true
}

// endBridge ends a bridged call that no BYE ended: a leg was never acknowledged (RFC 3261
// Timer H), or the picker left as the pickup answered. Each answered leg that is still up
// gets a BYE; dead is the leg that failed, which gets none.
func (rt *runtime) endBridge(br *bridge, dead leg, why string) {
	pending, first := rt.takeBridge(br)
	if !first {
		return
	}
	rt.pool.log.Info("bridged call ended", "caller", br.aID, "picker", br.bID, "why", why)
	for _, l := range []leg{br.a, br.b} {
		switch {
		case l == dead || (l == br.b && pending):
			l.Close()
		default:
			rt.byeLater(l)
		}
	}
}

// dropBridge forgets a bridge whose caller leg was never answered: nothing to hang up.
func (rt *runtime) dropBridge(br *bridge) {
	rt.takeBridge(br)
	br.a.Close()
}

// unbridge forgets the connected call that has a leg with Call-ID id, and returns it (nil
// when none, or when another BYE got there first).
func (rt *runtime) unbridge(id string) *bridge {
	rt.mu.Lock()
	br := rt.bridges[id]
	rt.mu.Unlock()
	if br == nil {
		return nil
	}
	if _, first := rt.takeBridge(br); !first {
		return nil
	}
	return br
}

// byeBridge ends a connected call when either party hangs up: it answers the BYE and
// sends one on the other leg. It reports whether the BYE was for a connected call.
func (rt *runtime) byeBridge(req *gosip.Request, tx gosip.ServerTransaction) bool {
	if req.Method != gosip.BYE {
		return false
	}
	id := siputil.CallID(req)
	rt.mu.Lock()
	br := rt.bridges[id]
	rt.mu.Unlock()
	if br == nil {
		return false
	}
	pending, first := rt.takeBridge(br)
	this, other := br.a, br.b
	if id == br.bID {
		this, other = br.b, br.a
	}
	passOn := first && !(other == br.b && pending)
	if passOn {
		rt.pool.ownSends.Hold() // before the BYE is answered (Pool.OwnSends)
	}
	if err := this.ReadBye(req, tx); err != nil {
		rt.pool.log.Debug("BYE on Call Park leg", "err", err)
	}
	this.Close()
	if passOn {
		go func() {
			defer rt.pool.ownSends.Release()
			rt.byeLeg(other)
		}()
	}
	return true
}

// byeLater hangs up a leg in the background, counted by Pool.OwnSends.
func (rt *runtime) byeLater(l leg) { rt.pool.sendOnOwn(func() { rt.byeLeg(l) }) }

// byeLeg hangs up one leg of a call the Call Park application holds.
func (rt *runtime) byeLeg(l leg) {
	if rt.down() {
		l.Close() // the pool died with its calls: a dead pool sends nothing
		return
	}
	// A BYE may overtake the other leg's ACK (each request is handled in its own
	// goroutine); sipgo's Bye then rechecks only every T1, so wait for the ACK here.
	if uas, ok := l.(*sipgo.DialogServerSession); ok {
		for i := 0; i < 2000 && uas.LoadState() == gosip.DialogStateEstablished; i++ {
			time.Sleep(time.Millisecond)
		}
		if uas.InviteResponse == nil || !uas.InviteResponse.IsSuccess() {
			l.Close() // never answered: nothing to hang up
			return
		}
	}
	if rt.down() { // it died while the leg was being confirmed
		l.Close()
		return
	}
	ctx, cancel := context.WithTimeout(rt.ctx, siputil.TransactionTimeout())
	defer cancel()
	if err := l.Bye(ctx); err != nil {
		rt.pool.log.Debug("BYE to Call Park leg failed", "err", err)
	}
	l.Close()
}
