package admin

import (
	"strings"

	"github.com/pickupsim/pickupsim/sip"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// poolParam reports whether a cmdlet's parameter names a pool: -PoolFqdn and
// -CallParkService everywhere, and -Identity of the *-CsCpsConfiguration cmdlets (whose
// identity is the pool's service).
func poolParam(cmdlet, param string) bool {
	switch strings.ToLower(param) {
	case "poolfqdn", "callparkservice":
		return true
	case "identity":
		return strings.HasSuffix(strings.ToLower(cmdlet), "-cscpsconfiguration")
	}
	return false
}

// resolvePoolNames rewrites the pool parameters of a cmdlet call to FQDNs, so the admin
// accepts the names scenario and topology files accept: the FQDN in any case, Lync's
// service identity ("service:ApplicationServer:pool01.contoso.com"), or the FQDN's first
// label when it names one pool ("pool01"). A name that matches no pool is left as given,
// so the refusal quotes what the administrator typed.
func (p *params) resolvePoolNames(cmdlet string, n *sip.Network) {
	var fqdns []string
	n.Deployment(func(d *topology.Deployment) { fqdns = d.Pools() })
	for k, v := range p.vals {
		s, ok := v.(string)
		if !ok || !poolParam(cmdlet, k) {
			continue
		}
		if f := resolvePool(fqdns, poolName(s)); f != "" {
			p.vals[k] = f
		}
	}
}

// resolvePool returns the pool a name means: an FQDN of fqdns, or the first label of
// exactly one of them; "" otherwise.
func resolvePool(fqdns []string, name string) string {
	found := ""
	for _, f := range fqdns {
		if f == name {
			return f
		}
		if strings.HasPrefix(f, name+".") {
			if found != "" {
				return "" // ambiguous: pool01.east... and pool01.west...
			}
			found = f
		}
	}
	return found
}
