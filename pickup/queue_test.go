package pickup

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// t0 is "now" in every test: the seed document's date.
var t0 = time.Date(2015, 3, 9, 9, 0, 0, 0, time.UTC)

// at returns t0 plus s seconds.
func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// ring builds a call from caller to callee on number, ringing since at(s).
func ring(id, caller, callee, number string, s int) Call {
	return Call{ID: id, Caller: caller, Callee: callee, Number: number, Since: at(s)}
}

// queuesOf returns queues holding calls, added in order.
func queuesOf(t *testing.T, calls ...Call) *Queues {
	t.Helper()
	q := NewQueues()
	for _, c := range calls {
		require.NoError(t, q.Add(c), "adding %s", c.ID)
	}
	return q
}

// ids lists the IDs of calls, in order.
func ids(calls []Call) []string {
	out := []string{}
	for _, c := range calls {
		out = append(out, c.ID)
	}
	return out
}

// Rule (SPEC section 3): with several calls queued, the one ringing longest is answered;
// calls that started ringing at the same instant are answered in the order they were queued.
func TestRuleTakeAnswersTheCallRingingLongest(t *testing.T) {
	tests := []struct {
		name  string
		calls []Call
		want  []string // IDs in the order successive Takes return them
	}{
		{"one call", []Call{ring("a", "dave", "alice", "150", 0)}, []string{"a"}},
		{
			"oldest first although queued last",
			[]Call{ring("new", "dave", "alice", "150", 20), ring("mid", "erin", "bob", "150", 10), ring("old", "frank", "carol", "150", 0)},
			[]string{"old", "mid", "new"},
		},
		{
			"ties by insertion order",
			[]Call{ring("x", "dave", "alice", "150", 5), ring("y", "erin", "bob", "150", 5), ring("z", "frank", "carol", "150", 5)},
			[]string{"x", "y", "z"},
		},
		{
			"ties then older",
			[]Call{ring("x", "dave", "alice", "150", 5), ring("y", "erin", "bob", "150", 5), ring("old", "frank", "carol", "150", 1)},
			[]string{"old", "x", "y"},
		},
		{
			"other numbers are not answered",
			[]Call{ring("other", "dave", "erin", "250", 0), ring("mine", "dave", "alice", "150", 9)},
			[]string{"mine"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := queuesOf(t, tt.calls...)
			var got []string
			for {
				c, ok := q.Take("150", "picker")
				if !ok {
					break
				}
				got = append(got, c.ID)
			}
			assert.Equal(t, tt.want, got)
			assert.Zero(t, q.Len("150"))
		})
	}
}

// Rule: the call Take returns is the call that was queued, whole, and it leaves the queue.
func TestRuleTakeReturnsTheQueuedCallAndRemovesIt(t *testing.T) {
	c := ring("a", "dave", "alice", "150", 0)
	q := queuesOf(t, c)
	got, ok := q.Take("150", "bob")
	require.True(t, ok)
	assert.Equal(t, c, got)
	assert.Zero(t, q.Len("150"))
	_, ok = q.Remove("a")
	assert.False(t, ok, "a taken call is no longer queued")
	assert.Empty(t, q.Numbers())
}

// Rule: dialling your own group does not answer your own call: Take skips calls the picker
// placed, and answers the longest ringing of the others.
func TestRuleTakeSkipsThePickersOwnCalls(t *testing.T) {
	tests := []struct {
		name   string
		calls  []Call
		picker string
		want   string // "" for nothing to pick up
	}{
		{"only own call", []Call{ring("own", "bob", "alice", "150", 0)}, "bob", ""},
		{"own call is older", []Call{ring("own", "bob", "alice", "150", 0), ring("other", "dave", "carol", "150", 10)}, "bob", "other"},
		{"someone else picks the same call", []Call{ring("own", "bob", "alice", "150", 0)}, "carol", "own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := queuesOf(t, tt.calls...)
			c, ok := q.Take("150", tt.picker)
			if tt.want == "" {
				assert.False(t, ok)
				assert.Equal(t, Call{}, c)
				assert.Equal(t, len(tt.calls), q.Len("150"), "nothing is removed")
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.want, c.ID)
			assert.Equal(t, len(tt.calls)-1, q.Len("150"))
		})
	}
}

// With nothing queued for the number, there is nothing to pick up (SPEC section 3: 404).
func TestRuleTakeWithNothingQueued(t *testing.T) {
	q := queuesOf(t, ring("a", "dave", "erin", "250", 0))
	c, ok := q.Take("150", "bob")
	assert.False(t, ok)
	assert.Equal(t, Call{}, c)
	assert.Equal(t, 1, q.Len("250"))

	c, ok = NewQueues().Take("150", "bob")
	assert.False(t, ok)
	assert.Equal(t, Call{}, c)
}

// Rule: a call leaves the queue when answered, cancelled or forwarded (Remove), and Remove
// reports whether it was queued.
func TestRuleRemoveTakesTheCallOutOfItsQueue(t *testing.T) {
	a, b, c := ring("a", "dave", "alice", "150", 0), ring("b", "dave", "bob", "150", 1), ring("c", "dave", "carol", "150", 2)
	q := queuesOf(t, a, b, c)

	got, ok := q.Remove("b")
	require.True(t, ok)
	assert.Equal(t, b, got)
	assert.Equal(t, []string{"a", "c"}, ids(q.Calls("150")))
	assert.Equal(t, 2, q.Len("150"))

	got, ok = q.Remove("b")
	assert.False(t, ok, "removing twice")
	assert.Equal(t, Call{}, got)

	_, ok = q.Remove("nope")
	assert.False(t, ok, "unknown call")

	for _, id := range []string{"a", "c"} {
		_, ok := q.Remove(id)
		assert.True(t, ok, id)
	}
	assert.Zero(t, q.Len("150"))
	assert.Empty(t, q.Numbers(), "a number with no calls is not listed")
}

// A removed call may be queued again (a ring-back, or a new INVITE reusing its Call-ID),
// and then rings from its new Since.
func TestRemovedCallCanBeQueuedAgain(t *testing.T) {
	q := queuesOf(t, ring("a", "dave", "alice", "150", 0), ring("b", "dave", "bob", "150", 5))
	_, ok := q.Remove("a")
	require.True(t, ok)
	require.NoError(t, q.Add(ring("a", "dave", "alice", "150", 10)))
	assert.Equal(t, []string{"b", "a"}, ids(q.Calls("150")))
}

// Removing from the middle must not disturb the order of the rest, nor a slice Calls
// returned earlier.
func TestRemoveKeepsOrderAndEarlierSnapshots(t *testing.T) {
	q := queuesOf(t, ring("a", "x", "alice", "150", 0), ring("b", "x", "bob", "150", 1),
		ring("c", "x", "carol", "150", 2), ring("d", "x", "dave", "150", 3))
	before := q.Calls("150")
	_, ok := q.Remove("b")
	require.True(t, ok)
	assert.Equal(t, []string{"a", "c", "d"}, ids(q.Calls("150")))
	assert.Equal(t, []string{"a", "b", "c", "d"}, ids(before))
	got, ok := q.Take("150", "y")
	require.True(t, ok)
	assert.Equal(t, "a", got.ID)
}

func TestRuleDuplicateAddErrors(t *testing.T) {
	q := queuesOf(t, ring("a", "dave", "alice", "150", 0))
	err := q.Add(ring("a", "erin", "bob", "250", 5))
	require.ErrorIs(t, err, ErrDuplicateCall)
	assert.Contains(t, err.Error(), "a")
	assert.Equal(t, 1, q.Len("150"))
	assert.Zero(t, q.Len("250"), "the refused call is not queued anywhere")
	assert.Equal(t, []string{"150"}, q.Numbers())
}

func TestLenCountsPerNumber(t *testing.T) {
	q := queuesOf(t, ring("a", "x", "alice", "150", 0), ring("b", "x", "bob", "150", 1), ring("c", "x", "dave", "250", 2))
	assert.Equal(t, 2, q.Len("150"))
	assert.Equal(t, 1, q.Len("250"))
	assert.Zero(t, q.Len("999"))
	assert.Zero(t, NewQueues().Len("150"))
}

// Calls lists the queue longest ringing first (by Since, ties by insertion order), and
// returns copies.
func TestCallsLongestRingingFirst(t *testing.T) {
	q := queuesOf(t, ring("c", "x", "carol", "150", 30), ring("a", "x", "alice", "150", 10),
		ring("b1", "x", "bob", "150", 20), ring("b2", "x", "bob", "150", 20), ring("o", "x", "dave", "250", 0))
	got := q.Calls("150")
	assert.Equal(t, []string{"a", "b1", "b2", "c"}, ids(got))
	assert.Equal(t, ring("a", "x", "alice", "150", 10), got[0], "the call as it was added")

	got[0].Callee = "mallory"
	assert.Equal(t, "alice", q.Calls("150")[0].Callee, "Calls returns copies")

	assert.Empty(t, q.Calls("999"))
}

func TestNumbersSorted(t *testing.T) {
	q := queuesOf(t, ring("a", "x", "u", "250", 0), ring("b", "x", "u", "*150", 0), ring("c", "x", "u", "150", 0), ring("d", "x", "u", "150", 1))
	assert.Equal(t, []string{"*150", "150", "250"}, q.Numbers())
	assert.Empty(t, NewQueues().Numbers())
}

// Rule (seed table, "Calls in Group Call Pickup queue ... During failback process: Calls in
// queue cannot be answered through Group Call Pickup"): Drop removes the lost calls,
// whatever their number, and returns them longest ringing first; the others stay.
func TestRuleDropRemovesLostCallsLongestRingingFirst(t *testing.T) {
	q := queuesOf(t,
		ring("a-new", "x", "alice", "150", 40),
		ring("d", "x", "dave", "250", 5),
		ring("b", "x", "bob", "150", 30),
		ring("a-old", "x", "alice", "150", 0),
		ring("e", "x", "erin", "250", 10),
		ring("a-mid", "x", "alice", "250", 20),
	)
	moved := map[string]bool{"alice": true, "bob": true}
	lost := q.Drop(func(c Call) bool { return moved[c.Callee] })

	assert.Equal(t, []string{"a-old", "a-mid", "b", "a-new"}, ids(lost))
	assert.Equal(t, ring("a-old", "x", "alice", "150", 0), lost[0], "the call as it was added")
	assert.Zero(t, q.Len("150"))
	assert.Equal(t, []string{"d", "e"}, ids(q.Calls("250")))
	assert.Equal(t, []string{"250"}, q.Numbers())
	for _, id := range []string{"a-new", "b", "a-old", "a-mid"} {
		_, ok := q.Remove(id)
		assert.False(t, ok, "%s is gone", id)
	}
}

// Drop ties: calls that started ringing together come back in the order they were queued,
// across numbers too.
func TestDropTiesByInsertionOrder(t *testing.T) {
	q := queuesOf(t, ring("1", "x", "u", "250", 0), ring("2", "x", "u", "150", 0), ring("3", "x", "u", "250", 0))
	assert.Equal(t, []string{"1", "2", "3"}, ids(q.Drop(func(Call) bool { return true })))
	assert.Empty(t, q.Numbers())
}

func TestDropNothing(t *testing.T) {
	q := queuesOf(t, ring("a", "x", "alice", "150", 0))
	assert.Empty(t, q.Drop(func(Call) bool { return false }))
	assert.Equal(t, 1, q.Len("150"))
	assert.Empty(t, NewQueues().Drop(func(Call) bool { return true }))
}

// Drop asks about each queued call exactly once.
func TestDropAsksOncePerCall(t *testing.T) {
	q := queuesOf(t, ring("a", "x", "alice", "150", 0), ring("b", "x", "bob", "150", 1), ring("c", "x", "dave", "250", 2))
	asked := map[string]int{}
	q.Drop(func(c Call) bool { asked[c.ID]++; return c.ID == "b" })
	assert.Equal(t, map[string]int{"a": 1, "b": 1, "c": 1}, asked)
	assert.Equal(t, []string{"a"}, ids(q.Calls("150")))
}

// A blocked call (its callee in resiliency mode, a call to a private line) rings a member of
// the group but is never answered through Group Call Pickup: Take skips it even when it rings
// longest, Len and Calls do not count it, BlockedCalls lists it so that a pickup can say why.
func TestBlockedCallsAreNeverTaken(t *testing.T) {
	blocked := ring("c1", "dave", "alice", "150", 0)
	blocked.Blocked, blocked.Why = "resiliency", "alice is in resiliency mode"
	q := queuesOf(t, blocked, ring("c2", "dave", "bob", "150", 5))

	assert.Equal(t, 1, q.Len("150"))
	assert.Equal(t, []string{"c2"}, ids(q.Calls("150")))
	assert.Equal(t, []string{"c1"}, ids(q.BlockedCalls("150")))
	assert.False(t, blocked.Pickable())

	c, ok := q.Take("150", "carol")
	require.True(t, ok)
	assert.Equal(t, "c2", c.ID, "the blocked call rings longer, but cannot be picked up")
	_, ok = q.Take("150", "carol")
	assert.False(t, ok)
	assert.Zero(t, q.Len("150"))
	assert.Empty(t, q.Numbers(), "a number with only blocked calls has nothing to pick up")
	assert.Equal(t, []string{"c1"}, ids(q.BlockedCalls("150")))

	removed, ok := q.Remove("c1")
	require.True(t, ok, "a blocked call leaves when its ringing ends")
	assert.Equal(t, blocked, removed)
	assert.Empty(t, q.BlockedCalls("150"))
}

// Drop sees blocked calls too: a call lost at failback is lost whether or not it could be
// picked up.
func TestDropIncludesBlockedCalls(t *testing.T) {
	blocked := ring("c1", "dave", "alice", "150", 0)
	blocked.Blocked = "resiliency"
	held := ring("c2", "dave", "bob", "150", 1)
	held.Holder = "pool02.contoso.com"
	q := queuesOf(t, blocked, held, ring("c3", "dave", "erin", "250", 2))
	lost := q.Drop(func(c Call) bool { return c.Callee == "alice" || c.Holder == "pool02.contoso.com" })
	assert.Equal(t, []string{"c1", "c2"}, ids(lost))
	assert.Equal(t, []string{"c3"}, ids(q.Calls("250")))
}

// Busy lamps learn of every change of the queues.
func TestQueuesReportChanges(t *testing.T) {
	q := NewQueues()
	n := 0
	q.OnChange(func() { n++ })
	require.NoError(t, q.Add(Call{ID: "a", Number: "100", Callee: "bob"}))
	require.NoError(t, q.Add(Call{ID: "b", Number: "100", Callee: "bob"}))
	q.Take("100", "carol")
	q.Drop(func(Call) bool { return true })
	q.Remove("zz")
	assert.Equal(t, 4, n, "two added, one taken, one dropped; removing nothing changes nothing")
}
