package topology

import (
	"fmt"
	"time"

	"github.com/pickupsim/pickupsim/park"
)

// The refusals of routing and registration (SPEC sections 2 and 5): a number nobody
// answers, a user nobody serves, an orbit range whose Call Park application does not run,
// and the features Lync withholds from outsiders and from users in resiliency mode.

// UnknownNumber refuses a call to a number that is neither a user nor an orbit.
func UnknownNumber(dialled, domain string) *Rejection {
	return reject(404, "Not Found", 0, fmt.Sprintf("%s is neither a user nor an orbit of domain %s", dialled, domain))
}

// NotAUser refuses a REGISTER for, or a subscription to, a name that is no user of domain.
func NotAUser(user, domain string) *Rejection {
	return reject(404, "Not Found", 0, fmt.Sprintf("%s is not a user of domain %s", user, domain))
}

// UserSignedOut refuses a call to a user no pool serves now (why says since when, and until
// what).
func UserSignedOut(user, why string) *Rejection {
	return reject(480, "Temporarily Unavailable", 0, fmt.Sprintf("%s is signed out: %s", user, why))
}

// NotRegisteredHere refuses a call to a user this pool serves but holds no registration of.
func NotRegisteredHere(user, pool string) *Rejection {
	return reject(480, "Temporarily Unavailable", 0, fmt.Sprintf("%s is not registered on %s", user, pool))
}

// ServedElsewhere redirects a REGISTER to the pool that serves the user now (301).
func ServedElsewhere(user, pool, why string) *Rejection {
	if why == "" {
		why = "home pool"
	}
	return reject(301, "Moved Permanently", 0, fmt.Sprintf("%s is served by %s now (%s)", user, pool, why))
}

// NoRegistrar refuses a REGISTER no pool may accept now (the home pool is out and the
// registrar failover timer still runs), with when to try again.
func NoRegistrar(why string, retryAfter time.Duration) *Rejection {
	r := reject(503, "Service Unavailable", 0, why)
	r.RetryAfter = retryAfter
	return r
}

// PoolNotAnswering refuses a request this pool would send on to a pool that is not running.
func PoolNotAnswering(pool string) *Rejection {
	return reject(503, "Service Unavailable", 0, pool+" is not running")
}

// feature names what dialling an orbit of range type t does.
func feature(t park.RangeType) string {
	if t == park.GroupPickup {
		return "use Group Call Pickup"
	}
	return "retrieve a parked call"
}

// OrbitFromOutside refuses a caller from outside the enterprise who dials an orbit: they
// can neither retrieve a parked call nor pick up (35003, "Cannot un-park from outside of
// enterprise").
func OrbitFromOutside(t park.RangeType, number string) *Rejection {
	return reject(403, "Forbidden", DiagOutsideEnterprise,
		fmt.Sprintf("callers from outside the enterprise cannot %s (%s)", feature(t), number))
}

// OrbitInResiliency refuses a user in resiliency mode who dials an orbit (SPEC section 5:
// no Call Park retrieval and no Group Call Pickup in resiliency mode).
func OrbitInResiliency(t park.RangeType, user, why string) *Rejection {
	return reject(480, "Temporarily Unavailable", 0,
		fmt.Sprintf("%s is in resiliency mode (%s) and cannot %s", user, why, feature(t)))
}

// NotAGroupMember refuses a pickup by a user outside the group, when the deployment
// restricts pickup to members.
func NotAGroupMember(user, number string) *Rejection {
	return reject(403, "Forbidden", 0,
		fmt.Sprintf("%s is not a member of group call pickup group %s, and this deployment restricts pickup to members", user, number))
}

// OrbitRangeOnNoPool refuses an orbit whose range points at a pool the topology no longer
// has (35011).
func OrbitRangeOnNoPool(r park.OrbitRange) *Rejection {
	return reject(503, "Service Unavailable", DiagCannotForward,
		fmt.Sprintf("orbit range %s points at %s, which is not a pool of this topology", r.Identity, r.CallParkService))
}

// OrbitRangeOwnerDown refuses an orbit whose range belongs to a pool that is not answering:
// the runbook redirects it with Set-CsCallParkOrbit (35011).
func OrbitRangeOwnerDown(r park.OrbitRange) *Rejection {
	return reject(503, "Service Unavailable", DiagCannotForward,
		fmt.Sprintf("orbit range %s belongs to %s, which is not answering (redirect it with Set-CsCallParkOrbit)", r.Identity, r.CallParkService))
}

// OrbitRangeOwnerCPSDisabled refuses an orbit whose range belongs to a pool whose Call
// Park application is disabled (35011).
func OrbitRangeOwnerCPSDisabled(r park.OrbitRange) *Rejection {
	return reject(503, "Service Unavailable", DiagCannotForward,
		fmt.Sprintf("orbit range %s belongs to %s, whose Call Park application is disabled", r.Identity, r.CallParkService))
}

// OrbitRangeOwnerFailedOver refuses an orbit whose range belongs to a pool failing or
// failed over to backup: it does not run its Call Park application even if it answers
// again, until failback (35011).
func OrbitRangeOwnerFailedOver(r park.OrbitRange, phase Phase, backup string) *Rejection {
	return reject(503, "Service Unavailable", DiagCannotForward,
		fmt.Sprintf("orbit range %s belongs to %s, which is %s to %s and does not run its Call Park application (redirect it with Set-CsCallParkOrbit)",
			r.Identity, r.CallParkService, phase, backup))
}

// GroupPickupRangeNotRedirectedBack refuses a pickup through a GroupPickup range still on
// the backup pool after its home pool failed back (displaced.go; seed: the ranges "must be
// redirected back to the primary pool after the failback process ... is complete").
func GroupPickupRangeNotRedirectedBack(r park.OrbitRange, home string) *Rejection {
	return reject(503, "Service Unavailable", DiagCannotForward,
		fmt.Sprintf("orbit range %s still points at %s, but %s serves its users again: Group Call Pickup is available once the range is redirected back (Set-CsCallParkOrbit -Identity %s -CallParkService %s)",
			r.Identity, r.CallParkService, home, r.Identity, home))
}
