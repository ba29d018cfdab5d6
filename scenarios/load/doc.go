// Package load runs load rehearsals (scenario.Rehearsal, *.load.yaml): a generated
// deployment of paired pools on loopback, tens of thousands of load phones
// (sip/loadphone) registering and calling through them, and a timeline of
// disaster-recovery phases run while the traffic flows.
//
// Everything is real SIP over real sockets and real RTP on the measured calls; time is
// the wall clock, with the registrar failover timer compressed (seconds rather than
// 300 s), because thousands of phones must really be talking at once. The pools and
// phones share the process and its CPUs, so figures include the phones' own cost; the
// Result says which machine they came from.
//
// What is measured, per phase: every operation (REGISTER, call, Group Call Pickup, park,
// retrieval, hang-up) with its outcome and setup time, attributed to the phase it started
// in; the users each action moved, until they registered where they are served; and
// RTP loss on the measured calls. Expectations are checked once the traffic has drained.
package load
