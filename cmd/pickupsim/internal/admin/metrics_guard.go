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
	)
}
