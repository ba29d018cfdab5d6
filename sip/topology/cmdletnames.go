package topology

import (
	"fmt"
	"strings"

	"github.com/pickupsim/pickupsim/park"
)

// How the cmdlets read the names an administrator types, whoever calls them (the admin
// API, a scenario step, the Go API): one reading, so that a name one of them accepts the
// others accept too.

// ResolvePool returns the pool of fqdns that name means: an FQDN as written, or in any
// case, a service ID or identity ("service:ApplicationServer:pool01.contoso.com"), or the
// FQDN's first label when it names exactly one pool ("pool01"). It returns "" for a name
// that means no pool, or more than one.
func ResolvePool(fqdns []string, name string) string {
	for _, f := range fqdns {
		if f == name {
			return f
		}
	}
	key := park.PoolName(name)
	if key == "" {
		return ""
	}
	found := ""
	for _, f := range fqdns {
		lf := strings.ToLower(f)
		if lf == key {
			return f
		}
		if strings.HasPrefix(lf, key+".") {
			if found != "" {
				return "" // ambiguous: pool01.east... and pool01.west...
			}
			found = f
		}
	}
	return found
}

// ResolvePool returns the FQDN of the deployment's pool that name means (ResolvePool), or
// name as given when it means none, so that a refusal quotes what the administrator typed.
func (d *Deployment) ResolvePool(name string) string {
	if f := ResolvePool(d.Pools(), name); f != "" {
		return f
	}
	return name
}

// UserName reads a user as the cmdlets take one: "bob", "sip:bob@contoso.com" or
// "bob@contoso.com" are all bob.
func UserName(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "sip:")
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	return s
}

// GroupPickupRange returns the GroupPickup range of orbits that number is in, as
// New-CsGroupPickupUserOrbit requires of a user's pickup number; URI parameters
// (";phone-context=...") are not part of the number.
func GroupPickupRange(orbits *park.OrbitTable, number string) (park.OrbitRange, error) {
	number = Dialled(number)
	r, ok := orbits.Lookup(number)
	switch {
	case !ok:
		return r, fmt.Errorf("%s is not in any orbit range", number)
	case r.Type != park.GroupPickup:
		return r, fmt.Errorf("%s is in range %s of type %s, not GroupPickup", number, r.Identity, r.Type)
	}
	return r, nil
}
