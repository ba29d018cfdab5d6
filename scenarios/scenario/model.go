package scenario

import (
	"time"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Scenario is one loaded scenario file.
type Scenario struct {
	Name        string
	Description string
	// File is the path the scenario was read from.
	File string
	// TopologyFile is the shared topology file it references, "" when inline.
	TopologyFile string
	Topology     topology.Topology
	// Outsiders are phones from outside the enterprise (outsiders.go).
	Outsiders []Outsider
	Steps     []Step
}

// Kind is a step's verb, as scenario files spell it.
type Kind string

// The step kinds.
const (
	Register         Kind = "register"
	Call             Kind = "call"
	Answer           Kind = "answer"
	Reject           Kind = "reject"
	Hangup           Kind = "hangup"
	Pickup           Kind = "pickup"
	Dial             Kind = "dial"
	Outage           Kind = "outage"
	Recover          Kind = "recover"
	FailOver         Kind = "failover"          // Invoke-CsPoolFailOver
	FailOverComplete Kind = "failover-complete" // the failover finished
	FailBack         Kind = "failback"          // Invoke-CsPoolFailBack
	FailBackComplete Kind = "failback-complete" // the failback finished
	SetOrbit         Kind = "set-orbit"         // Set-CsCallParkOrbit
	NewOrbit         Kind = "new-orbit"         // New-CsCallParkOrbit
	RemoveOrbit      Kind = "remove-orbit"      // Remove-CsCallParkOrbit
	SetCPS           Kind = "set-cps"           // Set-CsCpsConfiguration
	EnablePickup     Kind = "enable-pickup"     // SEFAUtil /enablegrouppickup:<n>
	DisablePickup    Kind = "disable-pickup"    // SEFAUtil /disablegrouppickup
	Park             Kind = "park"              // a phone parks a call (blind transfer to the Call Park application)
	Retrieve         Kind = "retrieve"          // a phone dials the orbit a call was parked on
	Transfer         Kind = "transfer"          // a phone blind-transfers a call
	AddPool          Kind = "add-pool"          // Topology Builder: a new pool is deployed
	MoveUsers        Kind = "move-users"        // Move-CsUser -Force for every user of a pool
	RemovePool       Kind = "remove-pool"       // Topology Builder: a failed pool is removed
	PairPools        Kind = "pair-pools"        // Topology Builder: two pools back each other up
	ReassignOrbits   Kind = "reassign-orbits"   // Set-CsCallParkOrbit on every range of a pool
	Subscribe        Kind = "subscribe"         // a phone's busy lamp keys subscribe (RFC 4235)
	Unsubscribe      Kind = "unsubscribe"       // a busy lamp key unsubscribes
	DirectedPickup   Kind = "directed-pickup"   // a phone picks up the call ringing a colleague (** code or Replaces)
	Advance          Kind = "advance"           // virtual time
	Wait             Kind = "wait"              // real time, for media
	Expect           Kind = "expect"
)

// Kinds lists every step kind, in the order the README documents them.
var Kinds = []Kind{Register, Call, Answer, Reject, Hangup, Pickup, Dial, Park, Retrieve, Transfer,
	Outage, Recover, FailOver, FailOverComplete, FailBack, FailBackComplete, SetOrbit, NewOrbit,
	RemoveOrbit, SetCPS, EnablePickup, DisablePickup, AddPool, MoveUsers, RemovePool, PairPools,
	ReassignOrbits, Subscribe, Unsubscribe, DirectedPickup, Advance, Wait, Expect}

// Step is one line of the timeline. Which fields are set depends on Kind.
type Step struct {
	Kind Kind
	// File and Line locate the step, for reports.
	File string
	Line int
	// Text is the step as written, one line, for reports.
	Text string

	Users []string // register
	// From, To and As: call (To is a user), dial (a user, number or park name), pickup (a
	// group number), retrieve (To is a park name or an orbit number), transfer (To is the
	// target; From and Call the transferring party and its call). On park, From and Call name
	// the parker and its call, and As names the park.
	From, To, As string
	// Call names the call of answer, reject, hangup, park and transfer; By is the party
	// hanging up.
	Call, By string
	Code     int    // reject
	Reason   string // reject
	Pool     string // outage, recover, failover..., set-cps, remove-pool (an FQDN)
	// CallerHangsUp, on a pickup, makes the picked call's caller hang up just as the pickup
	// answers it: "before-answer" (its CANCEL wins) or "after-answer" (the 200 crossed its
	// CANCEL; it hangs up with a BYE before the picker is answered).
	CallerHangsUp string
	// Planned: a failover without -DisasterMode, of a pool that still runs (failover step
	// with disasterMode: false).
	Planned bool
	// NewPool is the pool add-pool deploys.
	NewPool topology.Pool
	// FromPool and ToPool are move-users' and reassign-orbits' pools (FQDNs); pair-pools
	// pairs them too.
	FromPool, ToPool string
	Orbit            park.OrbitRange
	Identity         string           // set-orbit, remove-orbit
	Change           park.OrbitChange // set-orbit
	CPS              park.CPSChange   // set-cps: the settings it names
	User             string           // enable-pickup, disable-pickup, answer (the rung phone's user)
	Number           string           // enable-pickup
	Duration         time.Duration    // advance, wait
	// Watch is what subscribe's and unsubscribe's busy lamp keys watch: users, orbit or
	// group numbers, CallPark range identities. User is the watching phone's user.
	Watch []string
	// ByReplaces: a directed pickup by INVITE with Replaces from the picker's lamp of To,
	// rather than by dialling the feature code.
	ByReplaces bool
	// Error, on an action step, says the action is expected to fail with an error containing
	// this text; the step fails if the action succeeds.
	Error  string
	Expect *Expectation
}

// Expectation is what an expect step checks. Exactly one subject is set (Call, User, Orbit,
// Queue, Pool, OrbitNumber or Warnings); the other fields are the checks on it, nil or empty
// when not asked.
type Expectation struct {
	Call  string
	User  string
	Orbit string
	Queue string
	Pool  string
	// OrbitNumber is a park's name (`as` of a park step) or a literal orbit number.
	OrbitNumber string
	// Warnings is text one of the deployment's warnings must contain, or "none" for no
	// warning at all.
	Warnings string

	State       *phone.CallState // the caller's leg of Call
	CalleeState *phone.CallState // the rung phone's leg of Call
	Connected   string           // who the caller's leg is connected to
	// Code, Diagnostic and Warning check a call's final response, or a user's last
	// registration outcome. Warning is a substring of the Warning text or reason.
	Code         int
	Diagnostic   int
	Warning      string
	CancelReason string // substring of the callee leg's CANCEL Reason
	PickedUpBy   string // who picked up the callee leg's call
	Media        bool   // media flows both ways, losing no more than the network drops
	// EndReason is a substring of why the caller's leg ended ("no media", "session timer"),
	// or of its refusal or cancellation when it did not end established.
	EndReason string

	Mode      *topology.Mode // a user's mode, as its phone read it off the REGISTER answer
	Registrar string         // the pool FQDN a user's phone is registered on
	// Ringing is who rings a user's phone now (an incoming call's caller; a ring-back names
	// the parkee), or RingingNobody.
	Ringing string

	Owner  string // an orbit range's CallParkService
	Length *int   // a queue's length

	Phase *topology.Phase // a pool's disaster-recovery phase
	Up    *bool           // whether a pool answers
	// ActiveCalls is how many calls a pool's Call Park application bridges (the metrics
	// gauge): a call that ended for any reason must not count.
	ActiveCalls *int
	CPS         *park.CPSConfig // a pool's Call Park settings (Get-CsCpsConfiguration)

	// Checks on an orbit number. Code, Diagnostic and Warning check a refused park.
	Number      string // the orbit the park got
	Parked      *bool  // whether a call is parked on the orbit now
	Parker      string // who parked it
	Parkee      string // who is parked
	ParkedOn    string // the pool whose Call Park application holds it
	MusicOnHold *bool  // whether the parkee hears music on hold now
	// ParkeeState is the state of the parkee's call to the Call Park application.
	ParkeeState *phone.CallState
	// ParkeeReason is a substring of why that call ended.
	ParkeeReason string

	WarningCount *int // how many of the deployment's warnings contain the Warnings text

	Lamp *LampCheck // a user's busy lamp key
}

// LampCheck is what a user's busy lamp key for Watching should show: State (trying,
// proceeding, early, confirmed, terminated or unknown) and, when set, the other party of
// the dialog that lights it (Caller: who calls, who is parked).
type LampCheck struct {
	Watching, State, Caller string
}

// RingingNobody is the Ringing check of a phone that nobody rings.
const RingingNobody = "nobody"
