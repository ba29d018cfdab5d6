package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/phone"
)

// `pickupsim status` shows where each user would be served, the registrar failover
// timer counting down, and what changed.
func TestStatusCommandShowsServedByTimersAndChanges(t *testing.T) {
	s, api, _ := startServe(t, strings.Replace(labForTests, "registrarFailoverTimer: 1s", "registrarFailoverTimer: 60s", 1))
	phones := phone.NewFleet(s.Network)
	t.Cleanup(phones.Close)
	bob, err := phones.NewPhone("bob")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = bob.Register(ctx)
	require.NoError(t, err)

	var out bytes.Buffer
	cmd := newStatusCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--url", s.AdminURL})
	// The log compares successive statuses: a registration and an outage within one look
	// would show bob as never having signed in. An operator sees bob signed in first.
	eventually(t, "the change log to show bob signed in", func() bool {
		out.Reset()
		require.NoError(t, cmd.Execute())
		return strings.Contains(out.String(), "user bob: offline -> normal on pool01.contoso.com")
	})
	cmdlet(t, api, "Invoke-PoolOutage", map[string]any{"PoolFqdn": "pool01"})
	eventually(t, "the change log to show bob signed out", func() bool {
		out.Reset()
		require.NoError(t, cmd.Execute())
		return strings.Contains(out.String(), "user bob: normal on pool01.contoso.com -> offline")
	})
	text := out.String()
	assert.Contains(t, text, "WOULD BE SERVED BY")
	assert.Regexp(t, `bob\s+pool01.contoso.com\s+100\s+-\s+offline\s+nobody \(offline\)`, text)
	assert.Regexp(t, `registrar failover timer of pool01.contoso.com: pool02.contoso.com takes its users in (59|60) s`, text)
	assert.Contains(t, text, "pool pool01.contoso.com: pool outage: normal -> outage")
}
