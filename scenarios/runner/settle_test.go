package runner

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// msg builds a message as the wire carries it: start line, Via (one per hop), Call-ID,
// CSeq, and extra headers.
func msg(start, cseq string, vias int, extra ...string) sipMsg {
	raw := start + "\r\n"
	for i := 0; i < vias; i++ {
		raw += fmt.Sprintf("Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%d\r\n", 5060+i, i)
	}
	raw += "Call-ID: c1\r\nCSeq: " + cseq + "\r\n"
	for _, h := range extra {
		raw += h + "\r\n"
	}
	m, ok := parseSIP(raw + "\r\n")
	if !ok {
		panic(raw)
	}
	return m
}

func quiet(l *ledger) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.owedLocked()
}

func everyoneUp(string) bool { return true }

func TestLedgerOwesWhatRFC3261Asks(t *testing.T) {
	l := newLedger(everyoneUp)
	assert.True(t, quiet(l), "nothing sent, nothing owed")
	l.note("alice", "bob", msg("INVITE sip:bob@b SIP/2.0", "1 INVITE", 1))
	assert.False(t, quiet(l), "an INVITE owes a response")
	l.note("bob", "alice", msg("SIP/2.0 100 Trying", "1 INVITE", 1))
	assert.False(t, quiet(l), "100 Trying only says it arrived")
	l.note("bob", "alice", msg("SIP/2.0 180 Ringing", "1 INVITE", 1))
	assert.True(t, quiet(l), "a ringing INVITE waits for a user, not for the network")
	l.note("bob", "alice", msg("SIP/2.0 200 OK", "1 INVITE", 1))
	assert.False(t, quiet(l), "a 2xx owes an ACK (RFC 3261 13.2.2.4)")
	l.note("alice", "bob", msg("ACK sip:bob@b SIP/2.0", "1 ACK", 1))
	assert.True(t, quiet(l))
	l.note("alice", "bob", msg("BYE sip:bob@b SIP/2.0", "2 BYE", 1))
	assert.False(t, quiet(l))
	l.note("bob", "alice", msg("SIP/2.0 200 OK", "2 BYE", 1))
	assert.True(t, quiet(l))
}

func TestLedgerOwesPrackAndCancelAndTheAckOfA487(t *testing.T) {
	l := newLedger(everyoneUp)
	l.note("alice", "bob", msg("INVITE sip:bob@b SIP/2.0", "1 INVITE", 1))
	l.note("bob", "alice", msg("SIP/2.0 180 Ringing", "1 INVITE", 1, "RSeq: 1"))
	assert.False(t, quiet(l), "a reliable 180 owes a PRACK (RFC 3262)")
	l.note("alice", "bob", msg("PRACK sip:bob@b SIP/2.0", "2 PRACK", 1, "RAck: 1 1 INVITE"))
	assert.False(t, quiet(l), "the PRACK owes its 200")
	l.note("bob", "alice", msg("SIP/2.0 200 OK", "2 PRACK", 1))
	assert.True(t, quiet(l))
	l.note("alice", "bob", msg("CANCEL sip:bob@b SIP/2.0", "1 CANCEL", 1))
	l.note("bob", "alice", msg("SIP/2.0 200 OK", "1 CANCEL", 1))
	assert.False(t, quiet(l), "a CANCELled INVITE owes its 487")
	l.note("bob", "alice", msg("SIP/2.0 487 Request Terminated", "1 INVITE", 1))
	assert.False(t, quiet(l), "a non-2xx final response owes its hop's ACK (17.1.1.3)")
	l.note("alice", "bob", msg("ACK sip:bob@b SIP/2.0", "1 ACK", 1))
	assert.True(t, quiet(l))
}

// On a lossy network a response can be lost, or cross a retransmission of its request: the
// request's retransmission owes nothing more (its answer is a retransmission the server
// transaction may absorb). Seen: a re-INVITE whose 200 crossed its retransmission, and a
// NOTIFY whose 200 was lost, kept a replay waiting for an answer that never came.
func TestLedgerOwesNothingForARetransmissionOfAnAnsweredRequest(t *testing.T) {
	l := newLedger(everyoneUp)
	l.note("pool01", "alice", msg("INVITE sip:alice@a SIP/2.0", "8112 INVITE", 1))
	l.note("alice", "pool01", msg("SIP/2.0 200 OK", "8112 INVITE", 1))
	l.note("alice", "pool01", msg("SIP/2.0 200 OK", "8112 INVITE", 1))             // the 2xx again, no ACK yet
	l.note("pool01", "alice", msg("INVITE sip:alice@a SIP/2.0", "8112 INVITE", 1)) // crossed it
	assert.False(t, quiet(l), "the 2xx still owes its ACK")
	l.note("pool01", "alice", msg("ACK sip:alice@a SIP/2.0", "8112 ACK", 1))
	assert.True(t, quiet(l), "the INVITE's retransmission was answered by the 2xx before it")

	l.note("pool02", "erin", msg("NOTIFY sip:erin@e SIP/2.0", "9 NOTIFY", 1))
	l.note("erin", "pool02", msg("SIP/2.0 200 OK", "9 NOTIFY", 1)) // lost on the way
	l.note("pool02", "erin", msg("NOTIFY sip:erin@e SIP/2.0", "9 NOTIFY", 1))
	assert.True(t, quiet(l), "a retransmitted NOTIFY whose 200 was sent owes nothing")
	l.note("erin", "pool02", msg("SUBSCRIBE sip:bob@b SIP/2.0", "2 SUBSCRIBE", 1))
	assert.False(t, quiet(l), "another transaction is owed its answer")
}

func TestLedgerOwesNothingToTheDead(t *testing.T) {
	up := map[string]bool{"alice": true, "pool01": true}
	l := newLedger(func(ua string) bool { return up[ua] })
	l.note("alice", "pool01", msg("INVITE sip:bob@b SIP/2.0", "1 INVITE", 1))
	assert.False(t, quiet(l))
	up["pool01"] = false
	assert.True(t, quiet(l), "a pool that went down answers nothing")
	up["pool01"] = true
	assert.False(t, quiet(l))
	l.forget("pool01")
	assert.True(t, quiet(l), "a pool that came back knows nothing of what it was sent before")
}

func TestSettleWaitsForTheAnswer(t *testing.T) {
	l := newLedger(everyoneUp)
	l.note("alice", "bob", msg("OPTIONS sip:bob@b SIP/2.0", "1 OPTIONS", 1))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.False(t, l.settle(ctx, false), "unanswered: the bound ends the wait")
	go func() {
		time.Sleep(5 * time.Millisecond)
		l.note("bob", "alice", msg("SIP/2.0 200 OK", "1 OPTIONS", 1))
	}()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	assert.True(t, l.settle(ctx2, false))
}
