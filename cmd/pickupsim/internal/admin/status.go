package admin

import (
	"sort"
	"time"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Status is what GET /api/status returns and the status page shows.
type Status struct {
	Domain string `json:"domain"`
	// Now is the simulator's time when the status was taken; timers count down from it.
	Now     time.Time     `json:"now"`
	Pools   []PoolStatus  `json:"pools"`
	Users   []UserStatus  `json:"users"`
	Orbits  []Orbit       `json:"orbits"`
	Queues  []QueueStatus `json:"queues"`
	Parked  []ParkedCall  `json:"parked"`
	Bridged []BridgedCall `json:"bridged"`
	// Lamps are the busy lamp subscriptions (RFC 4235) the pools hold.
	Lamps    []Lamp   `json:"lamps"`
	Warnings []string `json:"warnings,omitempty"`
	// Log is what changed since serve started, oldest first (changelog.go).
	Log []LogEntry `json:"log"`
}

// PoolStatus is one pool: where it listens, its phase and what it holds.
type PoolStatus struct {
	FQDN        string  `json:"fqdn"`
	Address     string  `json:"address"`
	Backup      string  `json:"backup,omitempty"`
	Phase       string  `json:"phase"`
	Up          bool    `json:"up"`
	CPSEnabled  bool    `json:"cpsEnabled"`
	CPS         CPSJSON `json:"cps"`
	Registered  int     `json:"registered"`
	ActiveCalls int     `json:"activeCalls"`
	// BackupRegistrarAt is, while the pool is out and not failed over, when its registrar
	// failover timer runs out and its backup registrar takes its users.
	BackupRegistrarAt *time.Time `json:"backupRegistrarAt,omitempty"`
	// DeadListeners names the transports (udp, tcp, tls) on which the pool, though up,
	// stopped serving (metrics_guard.go).
	DeadListeners []string `json:"deadListeners,omitempty"`
}

// CPSJSON is Get-CsCpsConfiguration's output for one pool.
type CPSJSON struct {
	CallPickupTimeoutThreshold string `json:"CallPickupTimeoutThreshold"`
	MaxCallPickupAttempts      int    `json:"MaxCallPickupAttempts"`
	OnTimeoutURI               string `json:"OnTimeoutURI"`
	EnableMusicOnHold          bool   `json:"EnableMusicOnHold"`
}

// UserStatus is one user: where the deployment places it, and where its phone is
// registered and in which mode (read by the phone off presence-state).
type UserStatus struct {
	Name         string `json:"name"`
	Home         string `json:"home"`
	PickupNumber string `json:"pickupNumber,omitempty"`
	// RegisteredOn is the pool holding the user's registration, "" when none does.
	RegisteredOn string `json:"registeredOn,omitempty"`
	// Mode is how that pool serves the user now: normal or resiliency; offline when the
	// phone is not registered anywhere. It follows a completed failover or failback at once.
	Mode string `json:"mode"`
	// Told is the mode the phone read off its last REGISTER answer, when it differs from
	// Mode (the phone learns the new one at its next refresh); "stale" adds that the pool
	// would no longer accept the user.
	Told string `json:"told,omitempty"`
	// ServedBy and Placement are where the deployment would accept the user now.
	ServedBy  string `json:"servedBy,omitempty"`
	Placement string `json:"placement"`
	Why       string `json:"why,omitempty"`
}

// Orbit is one orbit range, with Get-CsCallParkOrbit's property names.
type Orbit struct {
	Identity         string `json:"Identity"`
	NumberRangeStart string `json:"NumberRangeStart"`
	NumberRangeEnd   string `json:"NumberRangeEnd"`
	CallParkService  string `json:"CallParkService"`
	Type             string `json:"Type"`
}

// QueueStatus is one Group Call Pickup queue.
type QueueStatus struct {
	Number string       `json:"number"`
	Pool   string       `json:"pool"`
	Calls  []QueuedCall `json:"calls"`
}

// QueuedCall is a call ringing in a pickup queue, longest ringing first.
type QueuedCall struct {
	Caller string    `json:"caller"`
	Callee string    `json:"callee"`
	Since  time.Time `json:"since"`
}

// Lamp is one busy lamp subscription a pool holds: who watches what, and what its last
// NOTIFY showed.
type Lamp struct {
	Pool       string    `json:"pool"`
	Subscriber string    `json:"subscriber"`
	Peer       bool      `json:"peer,omitempty"` // a peer pool watching for its own phones
	Watching   string    `json:"watching"`
	Kind       string    `json:"kind"`
	State      string    `json:"state"`
	Notifies   int       `json:"notifies"`
	Expires    time.Time `json:"expires"`
}

// ParkedCall is a call held on an orbit.
type ParkedCall struct {
	Pool     string    `json:"pool"`
	Orbit    string    `json:"orbit"`
	Parker   string    `json:"parker"`
	Parkee   string    `json:"parkee"`
	ParkedAt time.Time `json:"parkedAt"`
	// RingBackAt is when the parker is rung back if nobody retrieves the call.
	RingBackAt  time.Time `json:"ringBackAt"`
	RingingBack bool      `json:"ringingBack,omitempty"`
}

// BridgedCall is a call a pool's Call Park application connected (picked up, retrieved,
// rung back): who talks to whom, media flowing phone to phone.
type BridgedCall struct {
	Pool  string    `json:"pool"`
	A     string    `json:"a"`
	B     string    `json:"b"`
	Since time.Time `json:"since"`
}

func orbitJSON(r park.OrbitRange) Orbit {
	t := string(r.Type)
	if t == "" {
		t = string(park.CallPark)
	}
	return Orbit{Identity: r.Identity, NumberRangeStart: r.NumberRangeStart, NumberRangeEnd: r.NumberRangeEnd,
		CallParkService: r.CallParkService, Type: t}
}

func cpsJSON(c park.CPSConfig) CPSJSON {
	return CPSJSON{CallPickupTimeoutThreshold: park.FormatTimeout(c.CallPickupTimeoutThreshold),
		MaxCallPickupAttempts: c.MaxCallPickupAttempts, OnTimeoutURI: c.OnTimeoutURI, EnableMusicOnHold: c.EnableMusicOnHold}
}

// status gathers the network's state. It takes the deployment lock once for the model,
// then asks each pool for what it holds in memory.
func status(n *sip.Network) Status {
	st := Status{Now: n.Clock().Now()}
	type userInfo struct {
		u      topology.User
		number string
		pl     topology.Placement
	}
	var users []userInfo
	cps := map[string]park.CPSConfig{}
	configs := map[string]topology.Pool{}
	n.Deployment(func(d *topology.Deployment) {
		st.Domain = d.Domain()
		for _, w := range d.Warnings() {
			st.Warnings = append(st.Warnings, string(w))
		}
		for _, fqdn := range d.Pools() {
			cps[fqdn], _ = d.CPS(fqdn)
			configs[fqdn], _ = d.PoolConfig(fqdn)
		}
		for _, name := range d.Users() {
			u, _ := d.User(name)
			number, _ := d.PickupNumber(name)
			pl, _ := d.Place(name, n.Clock().Now())
			users = append(users, userInfo{u: u, number: number, pl: pl})
		}
		for _, r := range d.Orbits() {
			st.Orbits = append(st.Orbits, orbitJSON(r))
		}
	})
	registered := map[string]struct {
		pool string
		b    sip.Binding
	}{}
	for _, ps := range n.Pools() {
		p, _ := n.Pool(ps.FQDN)
		reg := p.Bindings()
		for _, b := range reg {
			registered[b.User] = struct {
				pool string
				b    sip.Binding
			}{ps.FQDN, b}
		}
		cfg := configs[ps.FQDN]
		pst := PoolStatus{FQDN: ps.FQDN, Address: ps.Address, Backup: cfg.Backup,
			Phase: ps.Phase.String(), Up: ps.Up, CPSEnabled: !cfg.CPSDisabled, CPS: cpsJSON(cps[ps.FQDN]),
			Registered: len(reg), ActiveCalls: p.ActiveCalls(), DeadListeners: deadListeners(p)}
		if at, ok := n.BackupRegistrarAt(ps.FQDN); ok {
			pst.BackupRegistrarAt = &at
		}
		st.Pools = append(st.Pools, pst)
		for _, bc := range p.BridgedCalls() {
			st.Bridged = append(st.Bridged, BridgedCall{Pool: ps.FQDN, A: bc.A, B: bc.B, Since: bc.Since})
		}
		for number, calls := range p.Queued() {
			q := QueueStatus{Number: number, Pool: ps.FQDN, Calls: []QueuedCall{}}
			for _, c := range calls {
				q.Calls = append(q.Calls, QueuedCall{Caller: c.Caller, Callee: c.Callee, Since: c.Since})
			}
			st.Queues = append(st.Queues, q)
		}
		for _, sub := range p.Subscriptions() {
			st.Lamps = append(st.Lamps, Lamp{Pool: ps.FQDN, Subscriber: sub.Subscriber, Peer: sub.Peer, Watching: sub.Watching,
				Kind: sub.Kind, State: sub.Lamp, Notifies: sub.Notifies, Expires: sub.Expires})
		}
		for _, pc := range p.ParkedCalls() {
			st.Parked = append(st.Parked, ParkedCall{Pool: ps.FQDN, Orbit: pc.Orbit, Parker: pc.Parker, Parkee: pc.Parkee,
				ParkedAt: pc.ParkedAt, RingBackAt: pc.Due, RingingBack: pc.RingingBack})
		}
	}
	for _, ui := range users {
		us := UserStatus{Name: ui.u.Name, Home: ui.u.HomePool, PickupNumber: ui.number, Mode: topology.Offline.String(),
			ServedBy: ui.pl.Pool, Placement: ui.pl.Mode.String(), Why: ui.pl.Why}
		if r, ok := registered[ui.u.Name]; ok {
			us.RegisteredOn, us.Mode = r.pool, r.b.Mode.String()
			switch {
			case r.b.Stale:
				us.Told = r.b.Told.String() + " (stale: " + r.pool + " would not accept it now)"
			case r.b.Told != r.b.Mode:
				us.Told = r.b.Told.String()
			}
		}
		st.Users = append(st.Users, us)
	}
	sort.Slice(st.Queues, func(i, j int) bool { return st.Queues[i].Number < st.Queues[j].Number })
	if st.Queues == nil {
		st.Queues = []QueueStatus{}
	}
	if st.Parked == nil {
		st.Parked = []ParkedCall{}
	}
	if st.Bridged == nil {
		st.Bridged = []BridgedCall{}
	}
	if st.Lamps == nil {
		st.Lamps = []Lamp{}
	}
	st.Log = []LogEntry{}
	if st.Orbits == nil {
		st.Orbits = []Orbit{}
	}
	return st
}
