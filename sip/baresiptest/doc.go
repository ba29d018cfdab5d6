// Package baresiptest runs unmodified baresip softphones (Debian package baresip-core) in
// tests, driven over baresip's ctrl_tcp module. It serves both test suites that use real
// softphones: the pools' (package sip) and the command's against `pickupsim serve`.
//
//   - Run starts baresip on a configuration directory (Dir, FreeDir) and returns its UA:
//     send it a command, wait for one of its events (WaitEvent takes events in order, so a
//     test can wait for one that has already happened; WaitEventSince looks from a Mark).
//     Tests that add lines with "uanew" start a UA with no account.
//   - Start runs a phone with one registered account for a testing.TB (Config): it
//     waits for the registration, and stops the phone when the test ends.
//
// Each phone gets its own folder (config, accounts, an 8 kHz tone file it sends as its
// microphone, and an empty audio_path so no ring-back tone holds the audio device), its
// own SIP port (with the next port free too: baresip binds SIP port + 1 for TLS), its own
// RTP port range and ctrl_tcp port, in a block no other phone of the process holds. The
// pitfalls these settings avoid are measured in notes/interop.md ("Measured pitfalls").
//
// ctrl_tcp speaks netstrings ("LEN:JSON,"): commands go in as
// {"command":"dial","params":"sip:bob@contoso.com","token":"1"}; the phone answers with
// {"response":true,"ok":true,"data":"...","token":"1"} and reports what happens as
// {"event":true,"type":"CALL_ESTABLISHED","class":"call","peeruri":"...",...}.
//
// Interoperability tests must run in CI: [Require] skips a test without baresip on a
// developer's machine, and fails it when the CI environment variable is set.
package baresiptest
