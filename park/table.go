package park

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// OrbitTable is the deployment-wide call park orbit table of the Central
// Management store: New-, Set-, Get- and Remove-CsCallParkOrbit, and the
// lookup that routes a dialled orbit to its pool.
//
// Every change is checked against all the rules of SPEC section 1 before it
// is made; a change that fails leaves the table exactly as it was.
//
// The zero value is an empty table ready to use. Not safe for concurrent use;
// its owner locks.
type OrbitTable struct {
	byID map[string]entry // by identity, lower case
	// index holds, for each prefix and length, the ranges sorted by start,
	// so Lookup is a binary search. Rebuilt for a key when its ranges change.
	index map[numKey][]entry
}

// entry is a stored range with its parsed interval.
type entry struct {
	r OrbitRange
	span
}

// NewOrbitTable returns an empty table.
func NewOrbitTable() *OrbitTable {
	return &OrbitTable{byID: map[string]entry{}, index: map[numKey][]entry{}}
}

// idKey is the key identities are compared by: PowerShell ignores case.
func idKey(identity string) string { return strings.ToLower(identity) }

// New adds a range (New-CsCallParkOrbit). An empty Type is stored as
// CallPark, and CallParkService is stored as the lower-case pool FQDN (a
// service ID "ApplicationServer:<fqdn>" is reduced to its FQDN).
func (t *OrbitTable) New(r OrbitRange) error {
	e, err := t.check(r)
	if err != nil {
		return err
	}
	if _, ok := t.byID[idKey(r.Identity)]; ok {
		return fmt.Errorf("orbit range %q: %w", r.Identity, ErrDuplicateIdentity)
	}
	if err := t.checkNeighbours(e, ""); err != nil {
		return err
	}
	t.put(e)
	t.reindex(e.key)
	return nil
}

// Set changes a range (Set-CsCallParkOrbit); nil fields of c are left alone.
// The changed range is checked like a new one, against every range but
// itself. On error nothing changes.
//
// Changing the Type of a range whose numbers are in use breaks Call Park or
// pickup on them ("Create or modify a Group Call Pickup number range"); the
// table does not know what is in use, so its owner checks that first.
func (t *OrbitTable) Set(identity string, c OrbitChange) error {
	old, ok := t.byID[idKey(identity)]
	if !ok {
		return fmt.Errorf("orbit range %q: %w", identity, ErrUnknownIdentity)
	}
	if c == (OrbitChange{}) {
		return fmt.Errorf("orbit range %q: %w", identity, ErrNoChange)
	}
	e, err := t.check(c.apply(old.r))
	if err != nil {
		return err
	}
	if err := t.checkNeighbours(e, idKey(identity)); err != nil {
		return err
	}
	t.put(e)
	t.reindex(old.key)
	t.reindex(e.key)
	return nil
}

// Remove deletes a range (Remove-CsCallParkOrbit), freeing its numbers.
func (t *OrbitTable) Remove(identity string) error {
	old, ok := t.byID[idKey(identity)]
	if !ok {
		return fmt.Errorf("orbit range %q: %w", identity, ErrUnknownIdentity)
	}
	delete(t.byID, idKey(identity))
	t.reindex(old.key)
	return nil
}

// Get returns the range of that identity (Get-CsCallParkOrbit -Identity),
// ignoring case.
func (t *OrbitTable) Get(identity string) (OrbitRange, bool) {
	e, ok := t.byID[idKey(identity)]
	return e.r, ok
}

// List returns every range, sorted by Identity (ignoring case).
func (t *OrbitTable) List() []OrbitRange {
	out := make([]OrbitRange, 0, len(t.byID))
	for _, e := range t.sorted() {
		out = append(out, e.r)
	}
	return out
}

// Lookup returns the range that owns a dialled number: the number is routed
// to that range's CallParkService (SPEC section 2). Anything from the first
// ";" on (";phone-context=...") is ignored; anything else that is not a
// valid orbit number, "+1425..." included, owns no range.
func (t *OrbitTable) Lookup(number string) (OrbitRange, bool) {
	if i := strings.IndexByte(number, ';'); i >= 0 {
		number = number[:i]
	}
	n, p := scanNumber(number)
	if p != problemNone {
		return OrbitRange{}, false
	}
	ranges := t.index[n.numKey]
	// The first range starting after n; the one before it is the only one
	// that can hold n, since ranges do not overlap.
	i, _ := slices.BinarySearchFunc(ranges, n.value+1, func(e entry, v int) int { return cmp.Compare(e.lo, v) })
	if i == 0 || ranges[i-1].hi < n.value {
		return OrbitRange{}, false
	}
	return ranges[i-1].r, true
}

// Clone returns an independent copy of the table.
func (t *OrbitTable) Clone() *OrbitTable {
	c := NewOrbitTable()
	for k, e := range t.byID {
		c.byID[k] = e
	}
	for k, es := range t.index {
		c.index[k] = slices.Clone(es)
	}
	return c
}

// check normalises r and checks the rules it must meet on its own:
// identity, pool, type, numbers and size.
func (t *OrbitTable) check(r OrbitRange) (entry, error) {
	if strings.TrimSpace(r.Identity) == "" {
		return entry{}, fmt.Errorf("orbit range %q: %w", r.Identity, ErrMissingIdentity)
	}
	r.CallParkService = PoolName(r.CallParkService)
	if r.CallParkService == "" {
		return entry{}, fmt.Errorf("orbit range %q: %w", r.Identity, ErrMissingService)
	}
	typ, ok := r.Type.canonical()
	if !ok {
		return entry{}, fmt.Errorf("orbit range %q: type %q: %w", r.Identity, r.Type, ErrInvalidType)
	}
	r.Type = typ
	s, err := r.parseSpan()
	if err != nil {
		return entry{}, err
	}
	if s.size() > MaxRangeSize {
		return entry{}, fmt.Errorf("orbit range %q: %q to %q holds %d numbers: %w",
			r.Identity, r.NumberRangeStart, r.NumberRangeEnd, s.size(), ErrRangeTooLarge)
	}
	return entry{r: r, span: s}, nil
}

// checkNeighbours checks e against the other ranges (all but the one of
// identity key self): no overlap, and its pool stays under the limit.
func (t *OrbitTable) checkNeighbours(e entry, self string) error {
	// Only ranges of the same prefix and length can overlap; the index
	// holds them sorted by start, so the first overlap found is the lowest.
	for _, o := range t.index[e.key] {
		if idKey(o.r.Identity) != self && o.lo <= e.hi && e.lo <= o.hi {
			return fmt.Errorf("orbit range %q: %q to %q overlaps orbit range %q (%q to %q) on %q to %q: %w",
				e.r.Identity, e.r.NumberRangeStart, e.r.NumberRangeEnd,
				o.r.Identity, o.r.NumberRangeStart, o.r.NumberRangeEnd,
				e.key.format(max(e.lo, o.lo)), e.key.format(min(e.hi, o.hi)), ErrOverlap)
		}
	}
	total := e.size()
	for k, o := range t.byID {
		if k != self && o.r.CallParkService == e.r.CallParkService {
			total += o.size()
		}
	}
	if total > MaxPoolSize {
		return fmt.Errorf("orbit range %q: pool %q would own %d orbit numbers: %w",
			e.r.Identity, e.r.CallParkService, total, ErrPoolFull)
	}
	return nil
}

// put stores e, creating the maps of a zero table.
func (t *OrbitTable) put(e entry) {
	if t.byID == nil {
		t.byID = map[string]entry{}
	}
	t.byID[idKey(e.r.Identity)] = e
}

// reindex rebuilds the sorted slice of one prefix and length.
func (t *OrbitTable) reindex(k numKey) {
	if t.index == nil {
		t.index = map[numKey][]entry{}
	}
	var es []entry
	for _, e := range t.byID {
		if e.key == k {
			es = append(es, e)
		}
	}
	if len(es) == 0 {
		delete(t.index, k)
		return
	}
	slices.SortFunc(es, func(a, b entry) int { return cmp.Compare(a.lo, b.lo) })
	t.index[k] = es
}

// sorted returns the entries in List order, so that errors and results are
// the same on every run.
func (t *OrbitTable) sorted() []entry {
	es := make([]entry, 0, len(t.byID))
	for _, e := range t.byID {
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b entry) int {
		return cmp.Or(cmp.Compare(idKey(a.r.Identity), idKey(b.r.Identity)),
			cmp.Compare(a.r.Identity, b.r.Identity))
	})
	return es
}
