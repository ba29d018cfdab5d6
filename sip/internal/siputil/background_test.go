package siputil

import (
	"testing"
	"time"
)

// TestBackgroundIdle: Idle is closed at once when nothing is sent, and once the last send
// under way ends otherwise, not before.
func TestBackgroundIdle(t *testing.T) {
	var b Background
	select {
	case <-b.Idle():
	default:
		t.Fatal("idle with nothing under way")
	}
	b.Hold()
	release := make(chan struct{})
	b.Go(func() { <-release })
	idle := b.Idle()
	b.Release()
	select {
	case <-idle:
		t.Fatal("idle while a send is under way")
	default:
	}
	close(release)
	select {
	case <-idle:
	case <-time.After(5 * time.Second):
		t.Fatal("not idle once the last send ended")
	}
	if b.Count() != 0 {
		t.Fatalf("count %d", b.Count())
	}
}
