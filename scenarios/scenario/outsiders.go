package scenario

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// Outsider is a phone from outside the enterprise: a PSTN caller arriving through a gateway,
// or a federated user. It never registers; it sends its calls straight to the pool it comes
// in through, which sees a caller from outside the enterprise (it can call users, but not
// pick up, retrieve or park: 403, ms-diagnostics 35003).
type Outsider struct {
	Name string
	// Via is the pool (FQDN) the outsider's calls arrive at, as a gateway's next hop.
	Via string
	// URI is the outsider's address, its From: sip:+14255550100@gateway.contoso.com.
	URI string
}

// DefaultOutsiderDomain is the host of an outsider's URI when the scenario gives none.
const DefaultOutsiderDomain = "pstn.invalid"

// outsiders: [{name: pstn, via: pool01, uri: "sip:+14255550100@gateway.contoso.com"}]
func (r *reader) readOutsiders(n *yaml.Node, pools poolSet, users []string) []Outsider {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.errorf(n, "outsiders must be a list of {name, via, uri}")
		return nil
	}
	taken := map[string]bool{}
	for _, u := range users {
		taken[u] = true
	}
	var out []Outsider
	for _, on := range n.Content {
		m := r.mapping(on, "outsider", "name", "via", "uri")
		if m == nil || !r.require(on, m, "outsider", "name", "via") {
			continue
		}
		o := Outsider{Name: r.str(m["name"], "name"), Via: r.pool(m["via"], pools, "via"), URI: r.str(m["uri"], "uri")}
		switch {
		case taken[o.Name]:
			r.errorf(m["name"], "outsider %q: the name is already a user's or another outsider's", o.Name)
		case isNumber(o.Name):
			r.errorf(m["name"], "outsider %q: pick a name that is not a number (put the number in uri)", o.Name)
		}
		taken[o.Name] = true
		if o.URI == "" {
			o.URI = "sip:" + o.Name + "@" + DefaultOutsiderDomain
		}
		if user, host, ok := splitSIPURI(o.URI); !ok || user == "" || host == "" {
			r.errorf(orNode(m["uri"], on), "outsider %s: uri %q is not sip:user@host", o.Name, o.URI)
		}
		out = append(out, o)
	}
	return out
}

// splitSIPURI splits sip:user@host (no parameters).
func splitSIPURI(u string) (user, host string, ok bool) {
	rest, found := strings.CutPrefix(u, "sip:")
	if !found || strings.ContainsAny(rest, ";?<> ") {
		return "", "", false
	}
	user, host, found = strings.Cut(rest, "@")
	return user, host, found
}

// UserAndHost returns the user and host parts of the outsider's URI.
func (o Outsider) UserAndHost() (string, string) {
	user, host, _ := splitSIPURI(o.URI)
	return user, host
}
