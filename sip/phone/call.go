package phone

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/media"
)

// CallState is where a phone's call stands.
type CallState int

// The call states.
const (
	// Dialing: INVITE sent, nothing heard yet.
	Dialing CallState = iota
	// Ringing: a 180 came back (outgoing), or the phone is ringing (incoming).
	Ringing
	// Established: answered and acknowledged; media flows.
	Established
	// Failed: the call was refused with a final response (see Call.Outcome).
	Failed
	// Cancelled: the call stopped before it was answered (the caller hung up, or the call
	// was completed elsewhere, see Call.CancelReason).
	Cancelled
	// Ended: the established call was hung up.
	Ended
)

var callStateNames = [...]string{"dialing", "ringing", "established", "failed", "cancelled", "ended"}

// String names the state as scenario files and reports spell it.
func (s CallState) String() string {
	if s < 0 || int(s) >= len(callStateNames) {
		return fmt.Sprintf("state(%d)", int(s))
	}
	return callStateNames[s]
}

// ParseCallState reads a state name.
func ParseCallState(s string) (CallState, error) {
	for i, n := range callStateNames {
		if n == s {
			return CallState(i), nil
		}
	}
	return 0, fmt.Errorf("unknown call state %q (want dialing, ringing, established, failed, cancelled or ended)", s)
}

// Call is one call of a phone, either direction.
type Call struct {
	phone    *Phone
	ID       string // SIP Call-ID
	Outgoing bool
	// Dialled is what the phone dialled (outgoing) or the caller's user (incoming).
	Dialled string
	// Media is the phone's RTP endpoint for this call.
	Media *media.Stream

	mu           sync.Mutex
	state        CallState
	changed      chan struct{}
	remote       string // who the phone is connected to / rung by (user part)
	outcome      lync.Outcome
	cancelReason string
	pickedUpBy   string
	endedBy      string
	endReason    string // why an established call ended, in a report's words
	remoteMedia  netip.AddrPort
	cancelling   bool // the phone hung up before answer: a 487 means cancelled, and a 2xx is BYEd
	provisional  bool // outgoing: a provisional response came, so a CANCEL may be sent
	unreachable  error
	decidedOnce  bool // Answer or Reject was called

	client  *sipgo.DialogClientSession
	server  *sipgo.DialogServerSession
	stop    func()                  // aborts an outgoing call before answer (sends CANCEL)
	abort   context.CancelCauseFunc // outgoing: stops waiting for the INVITE's answer
	giveUp  *time.Timer             // outgoing: gives up an INVITE whose CANCEL got no final answer
	decided chan answerChoice       // incoming: the user's answer or rejection
	awaited chan struct{}           // outgoing: closed when the INVITE's outcome is settled (await)
	held    *heldAnswer             // outgoing: the 2xx waits unread (HoldAnswer)

	rel    reliability // RFC 3262 reliable ringing (prack.go)
	timers callTimers  // RTP inactivity and session refresh (call_media_timeout.go, call_session_timer.go)
}

type answerChoice struct {
	code   int
	reason string
}

func newCall(ph *Phone, id string, outgoing bool, dialled string, m *media.Stream) *Call {
	return &Call{phone: ph, ID: id, Outgoing: outgoing, Dialled: dialled, Media: m,
		changed: make(chan struct{}), decided: make(chan answerChoice, 1), awaited: make(chan struct{}), abort: func(error) {},
		rel: reliability{pracked: make(chan struct{})}}
}

// State returns the call's state.
func (c *Call) State() CallState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Remote returns the user the call is connected to (after answer: the P-Asserted-Identity
// of whoever answered, so a picked-up call names the picker), or being rung by.
func (c *Call) Remote() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remote
}

// Outcome returns the final response of a refused call.
func (c *Call) Outcome() lync.Outcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.outcome
}

// CancelReason returns the Reason header of the CANCEL that stopped an incoming call.
func (c *Call) CancelReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancelReason
}

// PickedUpBy returns who answered this (incoming, cancelled) call through Group Call Pickup.
func (c *Call) PickedUpBy() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pickedUpBy
}

// EndedBy says who ended an established call: "local" or "remote".
func (c *Call) EndedBy() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endedBy
}

// EndReason says why an established call ended, as a report shows it: "hung up",
// "hung up by the other party", "no media for 30s", "session timer expired: refresh
// unanswered (...)". It is empty while the call has not ended.
func (c *Call) EndReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endReason
}

// Phone returns the phone the call belongs to.
func (c *Call) Phone() *Phone { return c.phone }

// ParkOrbit returns the orbit the Call Park application answered this outgoing call with
// (its X-Park-Orbit), or "": the parkee's side of a park.
func (c *Call) ParkOrbit() string {
	if c.client == nil || c.client.InviteResponse == nil {
		return ""
	}
	if h := c.client.InviteResponse.GetHeader(lync.HeaderParkOrbit); h != nil {
		return h.Value()
	}
	return ""
}

// RemoteMedia is where the phone sends its RTP.
func (c *Call) RemoteMedia() netip.AddrPort {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remoteMedia
}

// startMedia sends RTP to addr in the codec the answer SDP settled on (the first one it
// lists), so a peer that offered only PCMA hears PCMA.
func (c *Call) startMedia(addr netip.AddrPort, answer []byte) {
	if a, err := media.ParseAudio(answer); err == nil && len(a.Payloads) > 0 {
		c.Media.SetPayloadType(a.Payloads[0]) // telephone-event or unknown: keep PCMU
	}
	c.Media.Start(addr)
}

func (c *Call) isCancelling() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancelling
}

// setState moves the call to s, running update under the call's lock first. A call in a
// final state (failed, cancelled, ended) stays there and update does not run: it reports
// whether the call moved.
func (c *Call) setState(s CallState, update func(c *Call)) bool {
	c.mu.Lock()
	final := c.state >= Failed
	if !final {
		if update != nil {
			update(c)
		}
		c.state = s
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	if !final && s >= Failed {
		c.Media.Stop()
		c.stopTimers()
	}
	return !final
}

// established marks the call established on the session the offer and answer describe,
// and starts watching its media (a held call is not watched).
func (c *Call) established(offer, answer []byte, update func(c *Call)) {
	held := isHeld(offer) || isHeld(answer)
	// The timers are armed with the state change, so whoever sees the call established
	// and moves the clock finds them running.
	c.setState(Established, func(c *Call) {
		if update != nil {
			update(c)
		}
		c.timers.held = held
		c.armMediaLocked()
		c.armSessionLocked()
	})
}

// settled ends what waited on an outgoing INVITE's answer.
func (c *Call) settled() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.giveUp != nil {
		c.giveUp.Stop()
	}
}

func (c *Call) unreachableErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unreachable
}

// WaitState waits until the call is in one of states, and returns the state reached. A
// call that ends in another state returns an error naming it.
func (c *Call) WaitState(ctx context.Context, states ...CallState) (CallState, error) {
	for {
		c.mu.Lock()
		s, ch := c.state, c.changed
		c.mu.Unlock()
		for _, want := range states {
			if s == want {
				return s, nil
			}
		}
		if s >= Failed {
			return s, fmt.Errorf("call %s of %s is %s (%s), not %v", c.Dialled, c.phone.user, s, c.describe(), states)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return s, fmt.Errorf("call %s of %s still %s, waiting for %v: %w", c.Dialled, c.phone.user, s, states, ctx.Err())
		}
	}
}

func (c *Call) describe() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.outcome.Code != 0:
		return c.outcome.String()
	case c.cancelReason != "":
		return c.cancelReason
	case c.endReason != "":
		return c.endReason
	}
	return "no detail"
}

// Answer answers an incoming ringing call.
func (c *Call) Answer() error { return c.decide(answerChoice{code: 200}) }

// Reject refuses an incoming ringing call with code (486 Busy Here, 603 Decline...).
func (c *Call) Reject(code int, reason string) error {
	return c.decide(answerChoice{code: code, reason: reason})
}

func (c *Call) decide(a answerChoice) error {
	if c.Outgoing {
		return fmt.Errorf("call %s is outgoing: only the callee answers", c.ID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.state != Ringing:
		return fmt.Errorf("call from %s is %s, not ringing", c.Dialled, c.state)
	case c.decidedOnce:
		return fmt.Errorf("call from %s is already answered or rejected", c.Dialled)
	}
	c.decidedOnce = true
	c.decided <- a // buffered for one decision
	return nil
}

// Hangup ends the call: CANCEL before answer, BYE after. A BYE nobody answers (the other
// side's pool is gone) still ends the call on this phone.
func (c *Call) Hangup(ctx context.Context) error {
	switch c.State() {
	case Dialing, Ringing:
		if c.Outgoing {
			c.stop()
			st, err := c.WaitState(ctx, Cancelled, Failed, Ended, Established)
			if st == Established {
				return c.Hangup(ctx)
			}
			// A 2xx that crossed the CANCEL is acknowledged and hung up by await: the hang-up
			// is complete when its BYE is answered.
			select {
			case <-c.awaited:
			case <-ctx.Done():
			}
			return err
		}
		return c.Reject(486, "Busy Here")
	case Established:
		return c.hangUp(ctx, "hung up")
	default:
		return nil
	}
}

// hangUp ends the call on this phone at once, for reason, then sends BYE and waits for
// its answer (RFC 3261's retransmissions; an unreachable peer ends the wait early).
func (c *Call) hangUp(ctx context.Context, reason string) error {
	c.setState(Ended, func(c *Call) { c.endedBy, c.endReason = "local", reason })
	if err := c.bye(ctx); err != nil {
		return fmt.Errorf("BYE of call %s unanswered (ended locally): %w", c.Dialled, err)
	}
	return nil
}

// bye sends BYE on the call's dialog to the other party.
func (c *Call) bye(ctx context.Context) error {
	_, err := c.phone.do(ctx, peerAddr(c.peerTarget()), func(ctx context.Context) (*gosip.Response, error) {
		if c.client != nil {
			return nil, c.client.Bye(ctx)
		}
		return nil, c.server.Bye(ctx)
	})
	return err
}
