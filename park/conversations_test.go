package park

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func user(name string) Party { return Party{User: name} }

func outside(addr string) Party { return Party{Addr: addr, Name: "sip:caller@fabrikam.com"} }

// talk is a conversation answered at t0+after.
func talk(id string, caller, callee Party, after time.Duration) Conversation {
	return Conversation{CallID: id, Caller: caller, Callee: callee, Answered: t0.Add(after)}
}

func book(cs ...Conversation) *Conversations {
	b := NewConversations(100, time.Hour)
	for _, c := range cs {
		b.Add(c, c.Answered)
	}
	return b
}

func TestTheParkerIsTheOtherPartyOfTheParkeesConversation(t *testing.T) {
	b := book(talk("c1", user("alice"), user("dave"), 0), talk("c2", user("bob"), user("carol"), time.Second))
	for parkee, parker := range map[string]string{"dave": "alice", "alice": "dave", "carol": "bob", "bob": "carol"} {
		c, err := b.Find(user(parkee), Hint{}, t0.Add(time.Minute))
		require.NoError(t, err, parkee)
		other, ok := c.Other(user(parkee))
		require.True(t, ok)
		assert.Equal(t, parker, other.User, "parkee %s", parkee)
	}
	_, err := b.Find(user("erin"), Hint{}, t0)
	assert.ErrorIs(t, err, ErrNoConversation)
}

func TestOutsidePartiesAreKnownByTheirAddress(t *testing.T) {
	b := book(talk("c1", outside("192.0.2.1:5060"), user("alice"), 0))
	c, err := b.Find(outside("192.0.2.1:5060"), Hint{}, t0)
	require.NoError(t, err)
	assert.Equal(t, "c1", c.CallID)
	_, err = b.Find(outside("192.0.2.1:5070"), Hint{}, t0)
	assert.ErrorIs(t, err, ErrNoConversation, "another port is another party")
	_, err = b.Find(Party{Addr: "192.0.2.1:5060", User: "alice"}, Hint{}, t0.Add(time.Second))
	require.NoError(t, err, "a user is known by name, wherever it sends from")
	assert.False(t, Party{}.Is(Party{}), "two parties with nothing known are not the same")
}

func TestHintsOnlyChooseAmongTheParkeesConversations(t *testing.T) {
	b := book(
		talk("c1", user("alice"), user("dave"), 0),
		talk("c2", user("bob"), user("dave"), time.Second),
		talk("c3", user("bob"), user("carol"), 2*time.Second),
	)
	now := t0.Add(time.Minute)
	c, err := b.Find(user("dave"), Hint{}, now)
	require.NoError(t, err)
	assert.Equal(t, "c2", c.CallID, "without a hint, the most recent")
	c, err = b.Find(user("dave"), Hint{Parker: "alice"}, now)
	require.NoError(t, err)
	assert.Equal(t, "c1", c.CallID)
	c, err = b.Find(user("dave"), Hint{CallID: "c1"}, now)
	require.NoError(t, err)
	assert.Equal(t, "c1", c.CallID)

	for _, h := range []Hint{{CallID: "c3"}, {Parker: "carol"}, {CallID: "c1", Parker: "bob"}, {CallID: "nope"}} {
		_, err := b.Find(user("dave"), h, now)
		assert.ErrorIs(t, err, ErrHintMismatch, "%+v names no conversation of dave", h)
	}
	_, err = b.Find(user("erin"), Hint{CallID: "c1"}, now)
	assert.ErrorIs(t, err, ErrHintMismatch, "a Call-ID alone proves nothing")
}

func TestAParkedConversationIsNotChosenAgain(t *testing.T) {
	b := book(talk("c1", user("alice"), user("dave"), 0), talk("c2", user("bob"), user("dave"), time.Second))
	b.MarkParked("c2")
	c, err := b.Find(user("dave"), Hint{}, t0)
	require.NoError(t, err)
	assert.Equal(t, "c1", c.CallID, "the most recent not parked yet")
	c, err = b.Find(user("dave"), Hint{CallID: "c2"}, t0)
	require.NoError(t, err)
	assert.True(t, c.Parked, "named, it is returned so that the caller can tell a double park")
	b.MarkParked("c1")
	_, err = b.Find(user("dave"), Hint{}, t0)
	assert.ErrorIs(t, err, ErrNoConversation)
	assert.Contains(t, err.Error(), "parked already")
}

func TestWithoutHintsAnEnterpriseParkerIsPreferred(t *testing.T) {
	// alice, a receptionist, talks to an outside caller and to bob; bob's call is older.
	b := book(talk("c1", user("bob"), user("alice"), 0), talk("c2", outside("192.0.2.1:5060"), user("alice"), time.Second))
	c, err := b.Find(user("alice"), Hint{}, t0)
	require.NoError(t, err)
	assert.Equal(t, "c1", c.CallID, "outside parties cannot park")
}

func TestConversationsAreBoundedInCountAndAge(t *testing.T) {
	b := NewConversations(2, time.Hour)
	b.Add(talk("c1", user("alice"), user("dave"), 0), t0)
	b.Add(talk("c2", user("bob"), user("dave"), time.Second), t0)
	b.Add(talk("c3", user("carol"), user("dave"), 2*time.Second), t0)
	assert.Equal(t, 2, b.Len())
	_, err := b.Find(user("dave"), Hint{CallID: "c1"}, t0)
	assert.ErrorIs(t, err, ErrHintMismatch, "the oldest was forgotten")

	b.Add(talk("c3", user("erin"), user("frank"), time.Hour), t0.Add(time.Hour))
	assert.Equal(t, 2, b.Len(), "an answer retransmitted changes nothing")
	_, err = b.Find(user("dave"), Hint{}, t0.Add(time.Hour+3*time.Second))
	assert.ErrorIs(t, err, ErrNoConversation, "older than an hour")
	assert.Zero(t, b.Len())
}
