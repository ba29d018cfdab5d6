package admin

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// metrics are the Prometheus series, fed by the network's change reports (counters) and
// read from the network on each scrape (gauges).
type metrics struct {
	registrations *prometheus.CounterVec
	calls         *prometheus.CounterVec
	pickups       *prometheus.CounterVec
	responses     *prometheus.CounterVec
	drEvents      *prometheus.CounterVec
	directed      *prometheus.CounterVec
	notifies      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, n *sip.Network) *metrics {
	m := &metrics{
		registrations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pickupsim_registrations_total",
			Help: "REGISTERs from phones answered by a pool, by final status code."}, []string{"pool", "code"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pickupsim_calls_total",
			Help: "New INVITEs from phones (not pickups), by the final status code the phone got."}, []string{"pool", "code"}),
		pickups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pickupsim_pickups_total",
			Help: "Group Call Pickup attempts, accepted or rejected, by reason."}, []string{"pool", "result", "reason"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pickupsim_sip_responses_total",
			Help: "Final SIP responses sent by pools, by method and status code."}, []string{"pool", "method", "code"}),
		drEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pickupsim_dr_events_total",
			Help: "Disaster-recovery events applied to pools."}, []string{"pool"}),
	}
	m.directed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pickupsim_directed_pickups_total",
		Help: "Directed pickups from phones (the ** code, or an INVITE with Replaces and early-only from a busy lamp), accepted or rejected, by reason."},
		[]string{"pool", "by", "result", "reason"})
	m.notifies = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pickupsim_dialog_notifies_total",
		Help: "Busy lamp NOTIFYs (RFC 4235) sent by pools, by whether the subscriber answered 2xx (unanswered or refused ends the subscription)."},
		[]string{"pool", "result"})
	reg.MustRegister(m.registrations, m.calls, m.pickups, m.responses, m.drEvents, m.directed, m.notifies, &gauges{n: n})
	registerGuardMetrics(reg, n) // metrics_guard.go
	return m
}

func (m *metrics) observe(c sip.Change) {
	switch c.Kind {
	case sip.ChangePhase:
		m.drEvents.WithLabelValues(c.Pool).Inc()
		return
	case sip.ChangeNotify:
		result := "answered"
		if c.Code < 200 || c.Code >= 300 {
			result = "failed"
		}
		m.notifies.WithLabelValues(c.Pool, result).Inc()
		return
	case sip.ChangeResponse:
	default:
		return
	}
	code := strconv.Itoa(c.Code)
	m.responses.WithLabelValues(c.Pool, c.Method, code).Inc()
	if !c.FromPhone || c.InDialog {
		return
	}
	switch {
	case c.Method == "REGISTER":
		m.registrations.WithLabelValues(c.Pool, code).Inc()
	case c.Method == "INVITE" && c.Directed != "":
		result := "rejected"
		if c.Code < 300 {
			result = "accepted"
		}
		m.directed.WithLabelValues(c.Pool, c.Directed, result, PickupReason(c.Code, c.Diagnostic, c.Warning)).Inc()
	case c.Method == "INVITE" && c.Pickup:
		result := "rejected"
		if c.Code < 300 {
			result = "accepted"
		}
		m.pickups.WithLabelValues(c.Pool, result, PickupReason(c.Code, c.Diagnostic, c.Warning)).Inc()
	case c.Method == "INVITE":
		m.calls.WithLabelValues(c.Pool, code).Inc()
	}
}

// PickupReason names why a Group Call Pickup got its answer, for the reason label.
func PickupReason(code, diag int, warning string) string {
	switch {
	case code >= 200 && code < 300:
		return "picked-up"
	case code == 480 && strings.Contains(warning, "resiliency"):
		return "resiliency-mode"
	case code == 404 && diag == topology.DiagOrbitNotFound:
		return "nothing-to-pick-up"
	case code == 403 && diag == topology.DiagOutsideEnterprise:
		return "outside-enterprise"
	case code == 403:
		return "not-a-member"
	case code == 503 && diag == topology.DiagCannotForward:
		return "range-owner-unavailable"
	case code == 487:
		return "cancelled"
	}
	return "code-" + strconv.Itoa(code)
}

// gauges reads the network's state on each scrape.
type gauges struct{ n *sip.Network }

var (
	descUp         = prometheus.NewDesc("pickupsim_pool_up", "1 while the pool answers SIP.", []string{"pool"}, nil)
	descPhase      = prometheus.NewDesc("pickupsim_pool_phase", "1 for the pool's current disaster-recovery phase.", []string{"pool", "phase"}, nil)
	descRegistered = prometheus.NewDesc("pickupsim_registered_users", "Users registered on the pool, by mode.", []string{"pool", "mode"}, nil)
	descQueued     = prometheus.NewDesc("pickupsim_pickup_queued_calls", "Calls ringing in the pool's Group Call Pickup queues.", []string{"pool"}, nil)
	descParked     = prometheus.NewDesc("pickupsim_parked_calls", "Calls parked on the pool's orbits.", []string{"pool"}, nil)
	descActive     = prometheus.NewDesc("pickupsim_bridged_calls", "Picked-up calls the pool's Call Park application bridges.", []string{"pool"}, nil)
	descLamps      = prometheus.NewDesc("pickupsim_dialog_subscriptions", "Busy lamp subscriptions (RFC 4235) the pool holds, from phones and from peer pools.", []string{"pool"}, nil)
	descThrottled  = prometheus.NewDesc("pickupsim_park_requests_throttled_total", "Park requests refused over the per-source rate limit since the pool last started.", []string{"pool"}, nil)
)

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descPhase, descRegistered, descQueued, descParked, descActive, descThrottled, descLamps} {
		ch <- d
	}
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	for _, ps := range g.n.Pools() {
		p, _ := g.n.Pool(ps.FQDN)
		up := 0.0
		if ps.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, ps.FQDN)
		for ph := topology.Normal; ph <= topology.FailingBack; ph++ {
			v := 0.0
			if ph == ps.Phase {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descPhase, prometheus.GaugeValue, v, ps.FQDN, ph.String())
		}
		modes := map[string]float64{topology.NormalMode.String(): 0, topology.Resiliency.String(): 0}
		for _, m := range p.Registered() {
			modes[m.String()]++
		}
		for m, v := range modes {
			ch <- prometheus.MustNewConstMetric(descRegistered, prometheus.GaugeValue, v, ps.FQDN, m)
		}
		queued := 0
		for _, calls := range p.Queued() {
			queued += len(calls)
		}
		ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(queued), ps.FQDN)
		ch <- prometheus.MustNewConstMetric(descParked, prometheus.GaugeValue, float64(len(p.ParkedCalls())), ps.FQDN)
		ch <- prometheus.MustNewConstMetric(descActive, prometheus.GaugeValue, float64(p.ActiveCalls()), ps.FQDN)
		ch <- prometheus.MustNewConstMetric(descLamps, prometheus.GaugeValue, float64(len(p.Subscriptions())), ps.FQDN)
		ch <- prometheus.MustNewConstMetric(descThrottled, prometheus.CounterValue, float64(p.ParkRequestsThrottled()), ps.FQDN)
	}
}
