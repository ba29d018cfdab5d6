package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pickupsim/pickupsim/scenarios/scenario"
	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// BenchmarkServeStartWith80000Users measures what `serve` does before it answers: load a
// topology file of 80,000 users (a Lync pool's documented maximum, here split over the
// two lab pools, every user in a pickup group) and start the pools. Issue 14 asks for
// under 1 s.
func BenchmarkServeStartWith80000Users(b *testing.B) {
	lab, err := os.ReadFile("lab.yaml")
	if err != nil {
		b.Fatal(err)
	}
	head, tail, _ := strings.Cut(string(lab), "users:\n")
	_, orbits, _ := strings.Cut(tail, "orbits:\n")
	head = strings.NewReplacer("127.0.0.1:5060", "127.0.0.1:0", "127.0.0.1:5062", "127.0.0.1:0").Replace(head)
	var text strings.Builder
	text.WriteString(head + "users:\n")
	for i := range 80000 {
		pool, group := "pool01", 100+i/10%100
		if i%2 == 1 {
			pool, group = "pool02", 200+i/10%100
		}
		fmt.Fprintf(&text, "  - {name: u%05d, home: %s, pickup: %d}\n", i, pool, group)
	}
	text.WriteString("orbits:\n" + orbits)
	path := filepath.Join(b.TempDir(), "80k.yaml")
	if err := os.WriteFile(path, []byte(text.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		topo, err := scenario.LoadTopologyFile(path)
		if err != nil {
			b.Fatal(err)
		}
		n, _, err := sip.Start(sip.Config{Topology: topo})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		var got int
		n.Deployment(func(d *topology.Deployment) { got = len(d.Users()) })
		if got != 80000 {
			b.Fatalf("%d users started", got)
		}
		n.Close()
		b.StartTimer()
	}
}
