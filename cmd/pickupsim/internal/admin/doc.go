// Package admin is the lab's administration surface: an HTTP API whose endpoints are named
// after the Lync Server cmdlets an administrator runs during a disaster
// (Invoke-CsPoolFailOver, Set-CsCallParkOrbit, ...), a status query, a live status page
// (server-sent events), and Prometheus metrics. It drives a running sip.Network and keeps
// every accepted configuration change in the topology file, written atomically.
//
// The API listens on loopback by default. Bound anywhere else it refuses to start without a
// bearer token, and with a token every request must carry it ("Authorization: Bearer T",
// or "?token=T" for the browser's status page and its event stream).
package admin
