// Package siputil holds the few SIP helpers both sides of the simulator need, the pools
// (package sip) and the simulated phones (package sip/phone), so that neither has to
// import the other: RFC 3261 transaction bounds and answers, CANCEL, nil-safe header
// readers, the refusing DNS resolver every user agent is built with, and the wait for a
// UDP listener. It knows no pool and no phone.
package siputil
