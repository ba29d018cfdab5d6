// Package topology is the simulated deployment as Lync Server 2013's Central Management
// store and the pools' heartbeats know it: pools and their one-to-one reciprocal backup
// pairs, users and their home pools, the call park orbit table, Group Call Pickup
// assignments, and each pool's disaster-recovery phase.
//
// It is pure, in the manner of etcd's raft: events (a pool outage, Invoke-CsPoolFailOver,
// Set-CsCallParkOrbit...) and the current time go in; decisions come out (where a user is
// registered and in which mode, where an INVITE goes, which rejection a caller gets, which
// registrations and queued calls a transition throws away). It opens no socket and reads no
// clock; package sip carries the decisions out over SIP.
//
// The phases and what they mean for users follow "Manage Group Call Pickup during disaster
// recovery in Lync Server 2013" (the seed document) and SPEC section 5; the transition
// table is in phase.go.
package topology
