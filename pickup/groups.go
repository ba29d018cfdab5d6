package pickup

import (
	"errors"
	"fmt"
	"sort"
)

// ErrNoGroup is returned when a user has no pickup number to remove.
var ErrNoGroup = errors.New("user has no group call pickup number")

// Groups maps users to their Group Call Pickup number (SEFAUtil /enablegrouppickup:<n>).
// It is not safe for concurrent use; its owner locks.
type Groups struct {
	byUser  map[string]string
	members map[string]map[string]struct{}
}

// NewGroups returns an empty assignment.
func NewGroups() *Groups {
	return &Groups{byUser: map[string]string{}, members: map[string]map[string]struct{}{}}
}

// Assign puts user in the group of number, taking it out of any previous group: a user is
// in at most one group, and SEFAUtil's /enablegrouppickup replaces the old number. The
// caller checks that number is a GroupPickup orbit.
func (g *Groups) Assign(user, number string) {
	g.remove(user)
	g.byUser[user] = number
	if g.members[number] == nil {
		g.members[number] = map[string]struct{}{}
	}
	g.members[number][user] = struct{}{}
}

// Remove takes user out of its group (SEFAUtil /disablegrouppickup); the number is not kept.
func (g *Groups) Remove(user string) error {
	if !g.remove(user) {
		return fmt.Errorf("%s: %w", user, ErrNoGroup)
	}
	return nil
}

func (g *Groups) remove(user string) bool {
	old, ok := g.byUser[user]
	if !ok {
		return false
	}
	delete(g.byUser, user)
	delete(g.members[old], user)
	if len(g.members[old]) == 0 {
		delete(g.members, old)
	}
	return true
}

// NumberOf returns user's pickup number.
func (g *Groups) NumberOf(user string) (string, bool) {
	n, ok := g.byUser[user]
	return n, ok
}

// Members returns the users of number's group, sorted.
func (g *Groups) Members(number string) []string {
	out := make([]string, 0, len(g.members[number]))
	for u := range g.members[number] {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// IsMember reports whether user belongs to number's group.
func (g *Groups) IsMember(user, number string) bool {
	_, ok := g.members[number][user]
	return ok
}

// Assignments returns a copy of every user's number.
func (g *Groups) Assignments() map[string]string {
	out := make(map[string]string, len(g.byUser))
	for u, n := range g.byUser {
		out[u] = n
	}
	return out
}
