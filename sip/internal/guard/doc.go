// Package guard is the input guard. Every SIP request a pool or a simulated phone
// handles is input from the network: one malformed datagram must not stop the process.
// Each handler runs behind Guard.Run, which
//   - refuses a request that lacks a header RFC 3261 requires (8.1.1, 8.2, 16.3) with a
//     400 naming it, before any handler reads the request;
//   - recovers a panic, logs it with its stack, answers 500 and counts it
//     (sip.Network.HandlerPanics, phone.Fleet.HandlerPanics, pickupsim_handler_panics_total);
//   - answers 500 for a request its handler left without a final response, since sipgo
//     ends the transaction when the handler returns and the sender would otherwise
//     retransmit into silence.
//
// Requests without Via or CSeq never get here: sipgo's transaction layer cannot key a
// transaction on them and answers 400 itself (or nothing, without a Via to answer to).
//
// It is internal to package sip and its sub-packages: pools and phones share it.
package guard
