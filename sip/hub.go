package sip

import "sync"

// hub fans events out to observers: the network's changes (events.go) and its registrar
// changes (directory.go). Observers run synchronously on the goroutine that raised the
// event, never under the hub's lock, so they may add or cancel observers.
type hub[T any] struct {
	mu   sync.Mutex
	next int
	subs map[int]func(T)
}

// add registers f until cancel is called.
func (h *hub[T]) add(f func(T)) (cancel func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[int]func(T){}
	}
	id := h.next
	h.next++
	h.subs[id] = f
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs, id)
	}
}

// run calls every observer with v.
func (h *hub[T]) run(v T) {
	h.mu.Lock()
	subs := make([]func(T), 0, len(h.subs))
	for _, f := range h.subs {
		subs = append(subs, f)
	}
	h.mu.Unlock()
	for _, f := range subs {
		f(v)
	}
}
