package runner

import (
	"fmt"
	"time"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
)

// Result is the outcome of one scenario replay.
type Result struct {
	Name        string
	Description string
	File        string
	Passed      bool
	// Error is set when the scenario could not run at all (malformed file, network that
	// would not start); Steps is then empty.
	Error string
	// Warnings are the topology's warnings (sip.Start).
	Warnings []string
	Steps    []StepResult
	Failures []Failure
	// Wall is the real time the replay took; Simulated is how far the virtual clock moved.
	Wall      time.Duration
	Simulated time.Duration
	// Lanes names the SIP endpoints, pools first, then phones, for ladder diagrams.
	Lanes []Lane
	// Messages is every SIP message sent by the scenario's pools and phones, in order.
	Messages []Message
}

// StepResult is what one step did.
type StepResult struct {
	Line int
	Kind scenario.Kind
	Text string
	// Start is the real time since the replay began; Elapsed is the step's real duration.
	Start   time.Duration
	Elapsed time.Duration
	// SimTime is the virtual clock's offset from the start when the step began.
	SimTime time.Duration
	Passed  bool
	// Detail says what happened, in words ("alice registered on pool02 in resiliency mode").
	Detail   string
	Failures []Failure
	// Event is what the step did to the pools (events.go), nil for other steps.
	Event *Event
}

// Failure is one unmet expectation or failed action.
type Failure struct {
	File     string
	Line     int
	Step     string
	Expected string
	Actual   string
}

// String renders "file:line: expected X, got Y".
func (f Failure) String() string {
	return fmt.Sprintf("%s:%d: %s: expected %s, got %s", f.File, f.Line, f.Step, f.Expected, f.Actual)
}

// Lane is one SIP endpoint of a scenario.
type Lane struct {
	Name string // pool FQDN or user name
	Addr string // ip:port
	Pool bool
}

// Message is one SIP message on the wire.
type Message struct {
	// At is the real time since the replay began.
	At time.Duration
	// Sim is the virtual time it was sent at, since the replay's clock started (Epoch).
	Sim time.Duration
	// Step is the index in Steps of the step running when it was sent.
	Step      int
	Transport string
	From, To  string // lane names, or addresses when unknown
	// Summary is the start line ("INVITE sip:bob@contoso.com SIP/2.0" or "SIP/2.0 180 Ringing").
	Summary string
	Raw     string
}
