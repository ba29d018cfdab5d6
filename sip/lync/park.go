package lync

import "github.com/pickupsim/pickupsim/sip/topology"

// The Call Park vocabulary (SPEC section 4): the park URI and the headers a parkee, a
// parker and the Call Park application exchange.
const (
	// ParkUser is the user part of the park URI: sip:park@<domain> or sip:park@<pool address>.
	ParkUser = topology.ParkUser
	// HeaderParkOrbit carries the orbit a call was parked on: in the Call Park
	// application's 200 to the parkee, and in the parkee's NOTIFY sipfrag to the parker.
	HeaderParkOrbit = "X-Park-Orbit"
	// HeaderParkedCall names the conversation being parked (its Call-ID): a hint the
	// parker may put in the Refer-To URI and the parkee's INVITE then carries (it only
	// chooses among the parkee's conversations), and what a pool that sends a park request
	// on to the parker's pool names the conversation it found by.
	HeaderParkedCall = "X-Parked-Call"
)
