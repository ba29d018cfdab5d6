// Package report writes replay results for people and CI systems: JUnit XML, a JSON
// timeline of steps and SIP messages, and a self-contained HTML page with a SIP ladder
// diagram per scenario.
package report
