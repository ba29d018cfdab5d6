package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pickupsim/pickupsim/sip"
)

// registerGuardMetrics exports what the pools' input guard and transports report: handler
// panics recovered, name lookups refused (both stay at zero on a healthy simulator).
func registerGuardMetrics(reg prometheus.Registerer, n *sip.Network) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pickupsim_handler_panics_total",
			Help: "SIP handlers of pools and phones that panicked; each was recovered, logged with its stack and answered 500."},
			func() float64 { return float64(n.HandlerPanics()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pickupsim_dns_lookups_total",
			Help: "Name lookups the pools and phones attempted; each was refused (the simulator resolves no names)."},
			func() float64 { return float64(n.DNSLookups()) }),
		&listenerGauges{n: n},
	)
}

// listenerGauges reads each pool's sockets on every scrape.
type listenerGauges struct{ n *sip.Network }

var (
	descListenerUp = prometheus.NewDesc("pickupsim_listener_up",
		"1 while the pool's socket serves, 0 when it stopped serving while the pool is up (a dead listener).", []string{"pool", "transport"}, nil)
	descConnections = prometheus.NewDesc("pickupsim_connections_open",
		"Open TCP or TLS connections on the pool's listener.", []string{"pool", "transport"}, nil)
	descConnRefused = prometheus.NewDesc("pickupsim_connections_refused_total",
		"Connections closed on accept because the listener's connection cap was reached.", []string{"pool", "transport"}, nil)
	descAcceptRetries = prometheus.NewDesc("pickupsim_accept_retries_total",
		"Temporary accept errors (out of file descriptors) the listener retried.", []string{"pool", "transport"}, nil)
)

func (g *listenerGauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descListenerUp, descConnections, descConnRefused, descAcceptRetries} {
		ch <- d
	}
}

func (g *listenerGauges) Collect(ch chan<- prometheus.Metric) {
	for _, ps := range g.n.Pools() {
		p, ok := g.n.Pool(ps.FQDN)
		if !ok {
			continue
		}
		for _, l := range p.Listeners() {
			up := 0.0
			if l.Up {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(descListenerUp, prometheus.GaugeValue, up, ps.FQDN, l.Transport)
			if l.Transport == "udp" {
				continue
			}
			ch <- prometheus.MustNewConstMetric(descConnections, prometheus.GaugeValue, float64(l.Open), ps.FQDN, l.Transport)
			ch <- prometheus.MustNewConstMetric(descConnRefused, prometheus.CounterValue, float64(l.Refused), ps.FQDN, l.Transport)
			ch <- prometheus.MustNewConstMetric(descAcceptRetries, prometheus.CounterValue, float64(l.Retries), ps.FQDN, l.Transport)
		}
	}
}

// deadListeners names the transports on which an up pool stopped serving.
func deadListeners(p *sip.Pool) []string {
	var dead []string
	for _, l := range p.Listeners() {
		if !l.Up {
			dead = append(dead, l.Transport)
		}
	}
	return dead
}
