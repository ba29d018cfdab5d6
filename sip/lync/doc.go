// Package lync is the header vocabulary the pools and the simulated phones both speak, and
// nothing else: Lync's own headers (ms-diagnostics with its codes, presence-state and its
// resiliency-mode hint), the Call Park and Group Call Pickup headers (X-Park-Orbit,
// X-Parked-Call, X-Picked-Up-By, the "Call completed elsewhere" Reason), Warning and
// P-Asserted-Identity, the Outcome a phone reads off a final response, and RFC 4028
// session timer fields. Pools (package sip) write it, phones (package sip/phone) read it;
// neither imports the other, so this is where they agree.
package lync
