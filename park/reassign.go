package park

import (
	"fmt"
	"strings"
)

// Reassign moves every range owned by pool from (of type typ, or of every
// type when typ is "") to pool to, and returns the identities it changed,
// in List order.
//
// It is the batch of Set-CsCallParkOrbit -CallParkService commands that
// disaster recovery asks of the administrator: GroupPickup ranges to the
// backup pool after Invoke-CsPoolFailOver and back after
// Invoke-CsPoolFailBack, or every range to a replacement pool with a new FQDN
// ("Planning for call park disaster recovery", SPEC section 5).
//
// All or nothing: if the destination pool would own 50,000 numbers or more,
// nothing changes. No range of from (or from and to naming the same pool)
// is not an error: nothing changes and the result is empty.
func (t *OrbitTable) Reassign(from, to string, typ RangeType) ([]string, error) {
	src, dst := PoolName(from), PoolName(to)
	if src == "" || dst == "" {
		return nil, fmt.Errorf("reassign orbit ranges from pool %q to pool %q: %w", from, to, ErrMissingService)
	}
	if typ != "" {
		var ok bool
		if typ, ok = typ.canonical(); !ok {
			return nil, fmt.Errorf("reassign orbit ranges from pool %q to pool %q: type %q: %w", from, to, typ, ErrInvalidType)
		}
	}
	if src == dst {
		return nil, nil
	}
	var moved []entry
	total := 0
	for _, e := range t.sorted() {
		switch {
		case e.r.CallParkService == src && (typ == "" || e.r.Type == typ):
			moved = append(moved, e)
			total += e.size()
		case e.r.CallParkService == dst:
			total += e.size()
		}
	}
	if len(moved) == 0 {
		return nil, nil
	}
	ids := make([]string, len(moved))
	for i, e := range moved {
		ids[i] = e.r.Identity
	}
	if total > MaxPoolSize {
		return nil, fmt.Errorf("reassign orbit ranges %s from pool %q to pool %q: pool %q would own %d orbit numbers: %w",
			quoteAll(ids), from, to, dst, total, ErrPoolFull)
	}
	keys := map[numKey]bool{}
	for _, e := range moved {
		e.r.CallParkService = dst
		t.byID[idKey(e.r.Identity)] = e
		keys[e.key] = true
	}
	for k := range keys {
		t.reindex(k)
	}
	return ids, nil
}

// quoteAll formats identities for a message: "a", "b".
func quoteAll(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(q, ", ")
}
