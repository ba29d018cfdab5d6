package topology

import (
	"net/netip"
	"time"

	"github.com/pickupsim/pickupsim/park"
)

// ParkUser is the user part of the Call Park application's URI, sip:park@<domain> (or
// sip:park@<a pool's address>): a phone parks a call by blind-transferring it there.
const ParkUser = "park"

// ParkKind says what a pool does with a park request.
type ParkKind int

// The park kinds.
const (
	// ParkRefused: answer with ParkAdmission.Reject.
	ParkRefused ParkKind = iota
	// ParkHere: this pool serves the parker: its Call Park application parks the call on
	// one of its own CallPark orbits, with its own CPS settings.
	ParkHere
	// ParkElsewhere: another pool serves the parker (ParkAdmission.Pool): the request goes
	// there, because the pool that serves the user parks.
	ParkElsewhere
)

// ParkAdmission is the deployment's answer to a park request.
type ParkAdmission struct {
	Kind   ParkKind
	Pool   string // ParkElsewhere
	CPS    park.CPSConfig
	Orbits []string // ParkHere: the orbits of this pool's CallPark ranges
	Reject *Rejection
}

// ParkRequest is what a pool knows of a park request when the deployment decides it.
type ParkRequest struct {
	// Parker is the other party of the conversation being parked.
	Parker park.Party
	// FromPeer says a peer pool sent the request on, having chosen this pool as the
	// parker's: it is never sent on again, and that pool checked the request's media.
	FromPeer bool
	// Media is the address the parkee's SDP offer asks for music on hold at, or OfferErr
	// why the offer cannot be read.
	Media    netip.Addr
	OfferErr error
	// Source is the address the request came from.
	Source netip.Addr
}

// AdmitPark decides, at pool, a park request (SPEC section 4 and 5). The parker must be
// an enterprise user served out of resiliency mode, and the pool that serves the parker
// parks, with its CallPark ranges and CPS settings ("After failover, parking uses the
// backup pool's CallPark ranges and its CPS settings"). The parkee's offer must be
// readable, and music on hold goes only to the address the request came from (the Call
// Park application is no traffic reflector).
func (d *Deployment) AdmitPark(pool string, r ParkRequest, now time.Time) ParkAdmission {
	adm := d.admitParker(pool, r.Parker, r.FromPeer, now)
	switch {
	case adm.Kind == ParkRefused:
		return adm
	case r.OfferErr != nil:
		return ParkAdmission{Reject: BadParkOffer(r.OfferErr)}
	case !r.FromPeer && r.Media.Unmap() != r.Source.Unmap():
		return ParkAdmission{Reject: MusicOnHoldElsewhere(r.Media, r.Source)}
	}
	return adm
}

// admitParker decides who parks a call parker parks: this pool, another, or none.
func (d *Deployment) admitParker(pool string, parker park.Party, fromPeer bool, now time.Time) ParkAdmission {
	refuse := func(r *Rejection) ParkAdmission { return ParkAdmission{Reject: r} }
	if !parker.Enterprise() {
		return refuse(ParkerOutsideEnterprise(parker))
	}
	pl, err := d.Place(parker.User, now)
	switch {
	case err != nil:
		return refuse(ParkerNotAUser(parker.User))
	case pl.Pool == "":
		return refuse(ParkerSignedOut(parker.User, pl.Why))
	case pl.Mode == Resiliency:
		return refuse(ParkerInResiliency(parker.User, pl.Why))
	case pl.Pool != pool && fromPeer:
		return refuse(ParkOnOwnPool(parker.User, pl.Pool, pool))
	case pl.Pool != pool:
		if st, ok := d.pools[pl.Pool]; !ok || !st.up {
			return refuse(ParkerPoolNotAnswering(pl.Pool, parker.User))
		}
		return ParkAdmission{Kind: ParkElsewhere, Pool: pl.Pool}
	case d.config[pool].CPSDisabled:
		return refuse(CallParkDisabled(pool))
	}
	cfg, _ := d.CPS(pool)
	return ParkAdmission{Kind: ParkHere, CPS: cfg, Orbits: park.CallParkOrbits(d.Orbits(), pool)}
}
