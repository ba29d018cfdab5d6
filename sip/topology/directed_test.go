package topology

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The directed pickup code routes to the pool that serves the callee, with Group Call
// Pickup's refusals, through the runbook.
func TestRouteDirectedPickupCode(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(*testing.T, *Deployment) time.Time
		pool   string
		picker Caller
		dial   string
		kind   RouteKind
		to     string
		code   int
	}{
		{name: "same pool", pool: pool01, picker: enterprise("carol"), dial: "**bob", kind: ToDirectedPickup},
		{name: "callee on the other pool", pool: pool01, picker: enterprise("carol"), dial: "**dave", kind: ToPool, to: pool02},
		{name: "from outside", pool: pool01, picker: outsider, dial: "**bob", code: 403},
		{name: "unknown user", pool: pool01, picker: enterprise("carol"), dial: "**zed", code: 404},
		{name: "callee signed out", pool: pool02, picker: enterprise("dave"), dial: "**bob", code: 480,
			mutate: func(t *testing.T, d *Deployment) time.Time {
				apply(t, d, on(pool01, PoolOutage))
				return at(time.Minute)
			}},
		{name: "picker in resiliency mode", pool: pool02, picker: enterprise("carol"), dial: "**dave", code: 480,
			mutate: func(t *testing.T, d *Deployment) time.Time {
				apply(t, d, on(pool01, PoolOutage))
				return at(10 * time.Minute)
			}},
		{name: "callee in resiliency mode", pool: pool02, picker: enterprise("dave"), dial: "**bob", code: 480,
			mutate: func(t *testing.T, d *Deployment) time.Time {
				apply(t, d, on(pool01, PoolOutage))
				return at(10 * time.Minute)
			}},
		{name: "failed over: the backup serves both", pool: pool02, picker: enterprise("dave"), dial: "**bob", kind: ToDirectedPickup,
			mutate: func(t *testing.T, d *Deployment) time.Time {
				apply(t, d, on(pool01, PoolOutage), on(pool01, FailOverStart), on(pool01, FailOverComplete))
				return t0
			}},
		{name: "Call Park application disabled", pool: pool01, picker: enterprise("carol"), dial: "**bob", code: 503,
			mutate: func(t *testing.T, d *Deployment) time.Time {
				d.config[pool01] = Pool{FQDN: pool01, Backup: pool02, CPSDisabled: true}
				return t0
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newDeployment(t)
			now := t0
			if c.mutate != nil {
				now = c.mutate(t, d)
			}
			r := d.Route(c.pool, c.picker, c.dial, now)
			if c.code != 0 {
				require.NotNil(t, r.Reject, "refused")
				assert.Equal(t, c.code, r.Reject.Code, r.Reject.Warning)
				return
			}
			require.Nil(t, r.Reject)
			assert.Equal(t, c.kind, r.Kind)
			assert.Equal(t, c.to, r.Pool)
		})
	}
}

// A call to a private line is never picked up, by code or by Replaces.
func TestAdmitDirectedPickupPrivateLine(t *testing.T) {
	d := newDeployment(t)
	r := d.AdmitDirectedPickup(enterprise("carol"), "bob", true, t0)
	require.NotNil(t, r)
	assert.Equal(t, 404, r.Code)
	assert.Nil(t, d.AdmitDirectedPickup(enterprise("carol"), "bob", false, t0))
}

// The prefix is configurable, and a prefix that could start an orbit number or a name is
// refused at load.
func TestDirectedPickupPrefix(t *testing.T) {
	d := newDeployment(t, func(tp *Topology) { tp.DirectedPickupPrefix = "*97" })
	assert.Equal(t, ToDirectedPickup, d.Route(pool01, enterprise("carol"), "*97bob", t0).Kind)
	assert.Equal(t, 404, d.Route(pool01, enterprise("carol"), "**bob", t0).Reject.Code)
	assert.Equal(t, DefaultDirectedPickupPrefix, newDeployment(t).DirectedPickupPrefix())
	for _, bad := range []string{"*", "97", "*9a", "**********"} {
		topo := standardTopology()
		topo.DirectedPickupPrefix = bad
		_, _, err := New(topo)
		assert.ErrorIs(t, err, ErrInvalidTopology, bad)
	}
}
