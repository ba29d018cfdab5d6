// Package scenario reads scenario files: YAML documents that declare a Lync deployment
// (pools, backup pairs, CPS settings, orbit ranges, users and their Group Call Pickup
// numbers) and a timeline of steps (phone actions, administrator cmdlets, time, and
// expectations) for package runner to replay over real SIP and RTP.
//
// A malformed file is rejected before anything runs, with every problem reported as
// "file:line: what is wrong" (see Error). The format is documented in scenarios/README.md.
package scenario
