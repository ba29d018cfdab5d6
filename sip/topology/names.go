package topology

import "fmt"

// Names of enumerations, for logs and reports: every log line says "to-pickup", never
// "route=3", in text and in JSON alike.

var routeKindNames = [...]string{"rejected", "to-pool", "to-user", "to-pickup", "to-orbit", "to-directed-pickup"}

// String names the route kind.
func (k RouteKind) String() string {
	if k < 0 || int(k) >= len(routeKindNames) {
		return fmt.Sprintf("route(%d)", int(k))
	}
	return routeKindNames[k]
}

// MarshalText makes JSON (log/slog's JSON handler included) write the name.
func (k RouteKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// MarshalText makes JSON write the phase's name.
func (p Phase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// MarshalText makes JSON write the mode's name.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// MarshalText makes JSON write the event's name.
func (e Event) MarshalText() ([]byte, error) { return []byte(e.String()), nil }
