package pickup

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// groupsOf returns groups with each user assigned to its number, in map order (the result
// must not depend on it).
func groupsOf(assign map[string]string) *Groups {
	g := NewGroups()
	for u, n := range assign {
		g.Assign(u, n)
	}
	return g
}

// Rule (SEFAUtil /enablegrouppickup): a user is in at most one group, so assigning a new
// number takes the user out of its old group.
func TestRuleAssignReplacesTheOldGroup(t *testing.T) {
	g := NewGroups()
	g.Assign("alice", "150")
	g.Assign("bob", "150")
	g.Assign("alice", "250")

	n, ok := g.NumberOf("alice")
	require.True(t, ok)
	assert.Equal(t, "250", n)
	assert.Equal(t, []string{"bob"}, g.Members("150"))
	assert.Equal(t, []string{"alice"}, g.Members("250"))
	assert.False(t, g.IsMember("alice", "150"))
	assert.True(t, g.IsMember("alice", "250"))
	assert.Equal(t, map[string]string{"alice": "250", "bob": "150"}, g.Assignments())
}

func TestRuleAssignSameNumberTwiceIsIdempotent(t *testing.T) {
	g := NewGroups()
	g.Assign("alice", "150")
	g.Assign("alice", "150")
	assert.Equal(t, []string{"alice"}, g.Members("150"))
	assert.Equal(t, map[string]string{"alice": "150"}, g.Assignments())
}

// Rule: one number serves many users.
func TestRuleOneNumberServesManyUsers(t *testing.T) {
	g := groupsOf(map[string]string{"carol": "150", "alice": "150", "bob": "150", "dave": "250"})
	for _, u := range []string{"alice", "bob", "carol"} {
		assert.True(t, g.IsMember(u, "150"), u)
		n, ok := g.NumberOf(u)
		assert.True(t, ok, u)
		assert.Equal(t, "150", n, u)
	}
	assert.False(t, g.IsMember("dave", "150"))
}

// Members are sorted, whatever the order of assignment.
func TestMembersSorted(t *testing.T) {
	g := NewGroups()
	for _, u := range []string{"erin", "alice", "dave", "bob", "carol"} {
		g.Assign(u, "150")
	}
	assert.Equal(t, []string{"alice", "bob", "carol", "dave", "erin"}, g.Members("150"))
}

func TestMembersOfUnknownNumberIsEmpty(t *testing.T) {
	g := groupsOf(map[string]string{"alice": "150"})
	got := g.Members("999")
	assert.NotNil(t, got)
	assert.Empty(t, got)
	assert.False(t, g.IsMember("alice", "999"))
	assert.False(t, g.IsMember("nobody", "150"))
}

// Rule (SEFAUtil /disablegrouppickup): the user leaves its group and the number is not kept.
func TestRuleRemoveTakesUserOutOfGroup(t *testing.T) {
	g := groupsOf(map[string]string{"alice": "150", "bob": "150"})
	require.NoError(t, g.Remove("alice"))

	_, ok := g.NumberOf("alice")
	assert.False(t, ok)
	assert.Equal(t, []string{"bob"}, g.Members("150"))
	assert.Equal(t, map[string]string{"bob": "150"}, g.Assignments())

	require.NoError(t, g.Remove("bob"))
	assert.Empty(t, g.Members("150"))
	assert.Empty(t, g.Assignments())
}

// Rule: removing a user that has no group is an error wrapping ErrNoGroup that names the
// user, and changes nothing.
func TestRuleRemoveUserWithoutGroupErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup map[string]string
		user  string
	}{
		{"empty groups", nil, "alice"},
		{"other users assigned", map[string]string{"bob": "150"}, "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := groupsOf(tt.setup)
			err := g.Remove(tt.user)
			require.ErrorIs(t, err, ErrNoGroup)
			assert.Contains(t, err.Error(), tt.user)
			want := map[string]string{}
			for u, n := range tt.setup {
				want[u] = n
			}
			assert.Equal(t, want, g.Assignments())
		})
	}
}

func TestRuleRemoveTwiceErrors(t *testing.T) {
	g := groupsOf(map[string]string{"alice": "150"})
	require.NoError(t, g.Remove("alice"))
	assert.ErrorIs(t, g.Remove("alice"), ErrNoGroup)
}

// Assignments is a copy: changing it does not change the groups.
func TestAssignmentsIsACopy(t *testing.T) {
	g := groupsOf(map[string]string{"alice": "150"})
	a := g.Assignments()
	a["alice"] = "999"
	a["mallory"] = "150"
	n, _ := g.NumberOf("alice")
	assert.Equal(t, "150", n)
	assert.Equal(t, []string{"alice"}, g.Members("150"))
}
