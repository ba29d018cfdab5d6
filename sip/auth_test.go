package sip

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/phone"
)

// authLab: carol has a password; everyone else registers openly.
func authLab(t *testing.T) *lab {
	topo := labTopology()
	for i := range topo.Users {
		if topo.Users[i].Name == "carol" {
			topo.Users[i].Password = "s3cret"
		}
	}
	return newLab(t, topo)
}

func TestDigestAuthenticationOfRegisterAndInvite(t *testing.T) {
	l := authLab(t)
	l.registerAll("alice", "bob", "carol") // carol's phone answers the challenges
	p1, _ := l.net.Pool(pool01)
	assert.Contains(t, p1.Registered(), "carol")

	l.ring("alice", "bob")
	l.pickUp("carol", "100", "alice") // INVITE challenged with 407, then accepted

	for _, password := range []string{"", "wrong"} {
		impostor, err := phone.New(phone.Config{User: "carol", Domain: l.net.Domain(), Registrars: []string{p1.Addr()}, Password: password})
		require.NoError(t, err)
		t.Cleanup(impostor.Close)
		reg, err := impostor.Register(ctx(t))
		require.ErrorIs(t, err, phone.ErrNotRegistered, "password %q", password)
		assert.Equal(t, 401, reg.Outcome.Code)

		l.ring("alice", "bob")
		c, err := impostor.Dial("100")
		require.NoError(t, err)
		_, err = c.WaitState(ctx(t), phone.Failed)
		require.NoError(t, err)
		assert.Equal(t, 407, c.Outcome().Code, "an INVITE from carol must prove it is carol")
		assert.Equal(t, 1, l.net.QueueLength("100"), "nothing was picked up")
		l.pickUp("carol", "100", "alice")
	}
}

func TestUsersWithoutPasswordRegisterOpenly(t *testing.T) {
	l := authLab(t)
	reg, err := l.phone("alice").Register(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, 200, reg.Outcome.Code)
}
