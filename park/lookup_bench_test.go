package park

import (
	"fmt"
	"testing"
)

// benchTable holds 500 ranges of 50 numbers on 10 pools: 7-digit, * and #
// numbers, both types.
func benchTable(b *testing.B) (*OrbitTable, []string) {
	tbl := NewOrbitTable()
	prefixes := []string{"", "*", "#"}
	var dialled []string
	for i := range 500 {
		p := prefixes[i%3]
		lo := 1_000_000 + i*100
		r := OrbitRange{
			Identity:         fmt.Sprintf("range-%03d", i),
			NumberRangeStart: fmt.Sprintf("%s%d", p, lo),
			NumberRangeEnd:   fmt.Sprintf("%s%d", p, lo+49),
			CallParkService:  fmt.Sprintf("pool%02d.contoso.com", i%10),
		}
		if i%2 == 1 {
			r.Type = GroupPickup
		}
		if err := tbl.New(r); err != nil {
			b.Fatal(err)
		}
		dialled = append(dialled,
			fmt.Sprintf("%s%d", p, lo+25),                            // hit
			fmt.Sprintf("%s%d;phone-context=user-default", p, lo+49), // hit with parameters
			fmt.Sprintf("%s%d", p, lo+75),                            // miss in a gap
			fmt.Sprintf("+1425%d", lo),                               // not an orbit
		)
	}
	return tbl, dialled
}

func BenchmarkLookup(b *testing.B) {
	tbl, dialled := benchTable(b)
	b.ReportAllocs()
	hits := 0
	for i := 0; b.Loop(); i++ {
		if _, ok := tbl.Lookup(dialled[i%len(dialled)]); ok {
			hits++
		}
	}
	if hits == 0 {
		b.Fatal("no hit")
	}
}
