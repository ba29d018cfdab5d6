package topology

import (
	"strings"
	"time"

	"github.com/pickupsim/pickupsim/park"
)

// Caller is who sends an INVITE, as the receiving pool established it.
type Caller struct {
	// User is the enterprise user's name; empty for a caller from outside the enterprise.
	User string
}

// Enterprise reports whether the caller is an authenticated user of the deployment.
func (c Caller) Enterprise() bool { return c.User != "" }

// RouteKind says where an INVITE goes.
type RouteKind int

// The route kinds.
const (
	// Rejected: answer with Route.Reject.
	Rejected RouteKind = iota
	// ToPool: forward to another pool (Route.Pool).
	ToPool
	// ToUser: this pool serves the callee: ring its registrations.
	ToUser
	// ToPickup: this pool's Call Park application answers a group pickup number.
	ToPickup
	// ToOrbit: this pool's Call Park application answers a call park orbit (retrieval).
	ToOrbit
	// ToDirectedPickup: this pool serves the callee, whose ringing call this pool's Call
	// Park application answers for the picker (the directed pickup code, directed.go).
	ToDirectedPickup
)

// Route is where an INVITE for a dialled number goes.
type Route struct {
	Kind   RouteKind
	Pool   string // ToPool
	User   string // ToUser, and ToPool when the callee is a user
	Number string // ToPickup, ToOrbit, and ToPool for an orbit
	Range  park.OrbitRange
	// PrivateLine: the dialled number is User's private line (ToUser, ToPool), whose calls
	// Group Call Pickup never answers.
	PrivateLine bool
	Reject      *Rejection
}

// Dialled strips what follows the number in a Request-URI user part
// (";phone-context=..."), so "199;phone-context=user-default" routes like "199".
func Dialled(userPart string) string {
	if i := strings.IndexByte(userPart, ';'); i >= 0 {
		return userPart[:i]
	}
	return userPart
}

// Route decides, at pool, where an INVITE from caller for dialled goes (SPEC section 2):
// orbit numbers first, to the pool that owns their range, then users, to the pool that
// serves them now.
func (d *Deployment) Route(pool string, caller Caller, dialled string, now time.Time) Route {
	dialled = Dialled(dialled)
	if r, ok := d.orbits.Lookup(dialled); ok {
		return d.routeOrbit(pool, caller, dialled, r, now)
	}
	if callee, ok := d.directedPickupCode(dialled); ok {
		return d.routeDirected(pool, caller, callee, now) // directed.go
	}
	user, private := dialled, false
	if u, ok := d.privateLines[dialled]; ok {
		user, private = u, true
	}
	if _, ok := d.users[user]; !ok {
		return Route{Reject: UnknownNumber(dialled, d.topo.Domain)}
	}
	pl, _ := d.Place(user, now)
	switch pl.Pool {
	case "":
		return Route{Reject: UserSignedOut(user, pl.Why)}
	case pool:
		return Route{Kind: ToUser, User: user, PrivateLine: private}
	default:
		return Route{Kind: ToPool, Pool: pl.Pool, User: user, PrivateLine: private}
	}
}

// cpsRefusal says why the Call Park application that owns range r cannot answer for it, or
// nil when it can. A pool that is failing over or failed over does not run its Call Park
// application even if it answers again (Invoke-CsPoolFailOver stops the pool's services;
// the pool serves again after failback), so its ranges must be redirected with
// Set-CsCallParkOrbit, as the seed's runbook says.
func (d *Deployment) cpsRefusal(r park.OrbitRange) *Rejection {
	owner := r.CallParkService
	st, known := d.pools[owner]
	switch {
	case !known:
		return OrbitRangeOnNoPool(r)
	case !st.up:
		return OrbitRangeOwnerDown(r)
	case d.config[owner].CPSDisabled:
		return OrbitRangeOwnerCPSDisabled(r)
	case st.phase == FailingOver || st.phase == FailedOver:
		b, _ := d.backupOf(owner)
		return OrbitRangeOwnerFailedOver(r, st.phase, b)
	}
	return d.notRedirectedBack(r)
}

func (d *Deployment) routeOrbit(pool string, caller Caller, number string, r park.OrbitRange, now time.Time) Route {
	if !caller.Enterprise() {
		return Route{Reject: OrbitFromOutside(r.Type, number)}
	}
	if pl, err := d.Place(caller.User, now); err == nil && pl.Mode == Resiliency {
		return Route{Reject: OrbitInResiliency(r.Type, caller.User, pl.Why)}
	}
	if r.Type == park.GroupPickup && d.topo.PickupMembersOnly && !d.groups.IsMember(caller.User, number) {
		return Route{Reject: NotAGroupMember(caller.User, number)}
	}
	owner := r.CallParkService
	if rej := d.cpsRefusal(r); rej != nil {
		return Route{Reject: rej}
	}
	switch {
	case owner != pool:
		return Route{Kind: ToPool, Pool: owner, Number: number, Range: r}
	case r.Type == park.GroupPickup:
		return Route{Kind: ToPickup, Number: number, Range: r}
	default:
		return Route{Kind: ToOrbit, Number: number, Range: r}
	}
}
