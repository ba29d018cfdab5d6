package topology

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWhoMaySubscribeToWhat(t *testing.T) {
	d := newDeployment(t)
	alice := Caller{User: "alice"}
	cases := []struct {
		name       string
		subscriber Caller
		target     string
		pkg        string
		code       int
	}{
		{"own mailbox", alice, "alice", EventMessageSummary, 0},
		{"someone else's mailbox", alice, "bob", EventMessageSummary, 403},
		{"a colleague's presence", alice, "bob", EventPresence, 0},
		{"a stranger", Caller{}, "bob", EventPresence, 403},
		{"no such user", alice, "zed", EventPresence, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := d.MaySubscribe(c.subscriber, c.target, c.pkg)
			if c.code == 0 {
				assert.Nil(t, r)
				return
			}
			if assert.NotNil(t, r) {
				assert.Equal(t, c.code, r.Code)
				assert.NotEmpty(t, r.Warning)
			}
		})
	}
	assert.Equal(t, 489, BadSubscriptionEvent("dialog", []string{EventMessageSummary, EventPresence}).Code)
	assert.Contains(t, BadSubscriptionEvent("", nil).Warning, "without an Event header")
	assert.Equal(t, 400, StaleRegister(1, 2).Code)
}
