package topology

import (
	"fmt"
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
)

// Route is where an INVITE for a dialled number goes.
type Route struct {
	Kind   RouteKind
	Pool   string // ToPool
	User   string // ToUser, and ToPool when the callee is a user
	Number string // ToPickup, ToOrbit, and ToPool for an orbit
	Range  park.OrbitRange
	Reject *Rejection
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
	if _, ok := d.users[dialled]; !ok {
		return Route{Reject: reject(404, "Not Found", 0, fmt.Sprintf("%s is neither a user nor an orbit of domain %s", dialled, d.topo.Domain))}
	}
	pl, _ := d.Place(dialled, now)
	switch pl.Pool {
	case "":
		return Route{Reject: reject(480, "Temporarily Unavailable", 0, fmt.Sprintf("%s is signed out: %s", dialled, pl.Why))}
	case pool:
		return Route{Kind: ToUser, User: dialled}
	default:
		return Route{Kind: ToPool, Pool: pl.Pool, User: dialled}
	}
}

func (d *Deployment) routeOrbit(pool string, caller Caller, number string, r park.OrbitRange, now time.Time) Route {
	feature := "retrieve a parked call"
	if r.Type == park.GroupPickup {
		feature = "use Group Call Pickup"
	}
	if !caller.Enterprise() {
		return Route{Reject: reject(403, "Forbidden", DiagOutsideEnterprise,
			fmt.Sprintf("callers from outside the enterprise cannot %s (%s)", feature, number))}
	}
	if pl, err := d.Place(caller.User, now); err == nil && pl.Mode == Resiliency {
		return Route{Reject: reject(480, "Temporarily Unavailable", 0,
			fmt.Sprintf("%s is in resiliency mode (%s) and cannot %s", caller.User, pl.Why, feature))}
	}
	if r.Type == park.GroupPickup && d.topo.PickupMembersOnly && !d.groups.IsMember(caller.User, number) {
		return Route{Reject: reject(403, "Forbidden", 0,
			fmt.Sprintf("%s is not a member of group call pickup group %s, and this deployment restricts pickup to members", caller.User, number))}
	}
	owner := r.CallParkService
	st, known := d.pools[owner]
	switch {
	case !known:
		return Route{Reject: reject(503, "Service Unavailable", DiagCannotForward,
			fmt.Sprintf("orbit range %s points at %s, which is not a pool of this topology", r.Identity, owner))}
	case !st.up:
		return Route{Reject: reject(503, "Service Unavailable", DiagCannotForward,
			fmt.Sprintf("orbit range %s belongs to %s, which is not answering (redirect it with Set-CsCallParkOrbit)", r.Identity, owner))}
	case d.config[owner].CPSDisabled:
		return Route{Reject: reject(503, "Service Unavailable", DiagCannotForward,
			fmt.Sprintf("orbit range %s belongs to %s, whose Call Park application is disabled", r.Identity, owner))}
	case owner != pool:
		return Route{Kind: ToPool, Pool: owner, Number: number, Range: r}
	case r.Type == park.GroupPickup:
		return Route{Kind: ToPickup, Number: number, Range: r}
	default:
		return Route{Kind: ToOrbit, Number: number, Range: r}
	}
}

// QueueNumber says whether a call ringing callee at pool enters a Group Call Pickup queue
// there, and under which number. It does when the callee has a pickup number whose
// GroupPickup range is owned by this very pool's Call Park application (another pool's
// application never sees the call) and the callee is served here out of resiliency mode
// (SPEC section 5: a user in resiliency mode cannot have its calls picked up).
func (d *Deployment) QueueNumber(pool, callee string, now time.Time) (string, bool) {
	number, ok := d.groups.NumberOf(callee)
	if !ok {
		return "", false
	}
	r, ok := d.orbits.Lookup(number)
	if !ok || r.Type != park.GroupPickup || r.CallParkService != pool || d.config[pool].CPSDisabled {
		return "", false
	}
	pl, err := d.Place(callee, now)
	if err != nil || pl.Pool != pool || pl.Mode != NormalMode {
		return "", false
	}
	return number, true
}
