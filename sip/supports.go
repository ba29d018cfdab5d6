package sip

import (
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// supports reports whether a request's Supported or Require header lists option tag.
func supports(req *gosip.Request, tag string) bool {
	for _, name := range []string{"Supported", "k", "Require"} {
		for _, h := range req.GetHeaders(name) {
			for _, t := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(t), tag) {
					return true
				}
			}
		}
	}
	return false
}
