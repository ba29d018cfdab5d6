package lync

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/topology"
)

// Header names the simulator reads and writes.
const (
	// HeaderDiagnostics carries Lync's diagnostic code and text.
	HeaderDiagnostics = "ms-diagnostics"
	// HeaderPresenceState is Lync's registrar hint of resiliency mode ([MS-SIPREGE] 2.2.1.5).
	HeaderPresenceState = "presence-state"
	// HeaderPickedUpBy tells the original callee, on the CANCEL of its ringing leg, who
	// answered its call through Group Call Pickup.
	HeaderPickedUpBy = "X-Picked-Up-By"
	// HeaderAssertedIdentity is the identity a pool vouches for (RFC 3325).
	HeaderAssertedIdentity = "P-Asserted-Identity"
)

// CompletedElsewhere is the Reason a picked-up call's callee gets on its CANCEL
// (RFC 3326; the text is the one Lync and most PBXs use).
const CompletedElsewhere = `SIP;cause=200;text="Call completed elsewhere"`

// Warning builds a Warning (RFC 3261 20.43) with code 399 (miscellaneous), the
// pool as agent, and text as the explanation.
func Warning(agent, text string) gosip.Header {
	text = strings.ReplaceAll(text, `"`, `'`)
	return gosip.NewHeader("Warning", fmt.Sprintf(`399 %s "%s"`, agent, text))
}

// Diagnostics builds Lync's ms-diagnostics header.
func Diagnostics(code int, source string) gosip.Header {
	return gosip.NewHeader(HeaderDiagnostics, fmt.Sprintf(`%d;reason="%s";source="%s"`, code, topology.DiagnosticText[code], source))
}

// PresenceState tells a phone whether it is connected to its primary registrar:
// "no" means resiliency mode.
func PresenceState(mode topology.Mode) gosip.Header {
	connected := "yes"
	if mode == topology.Resiliency {
		connected = "no"
	}
	return gosip.NewHeader(HeaderPresenceState,
		fmt.Sprintf(`register-action="added";primary-cluster-type="central";is-connected-to-primary="%s"`, connected))
}

// Response turns a refusal of the deployment model (a named topology.Rejection) into a
// SIP response: its status, a Warning with its text and ms-diagnostics with its code.
func Response(req *gosip.Request, r *topology.Rejection, agent string) *gosip.Response {
	res := gosip.NewResponseFromRequest(req, r.Code, r.Reason, nil)
	if r.Warning != "" {
		res.AppendHeader(Warning(agent, r.Warning))
	}
	if r.Diagnostic != 0 {
		res.AppendHeader(Diagnostics(r.Diagnostic, agent))
	}
	if r.RetryAfter > 0 {
		secs := int((r.RetryAfter + time.Second - 1) / time.Second)
		res.AppendHeader(gosip.NewHeader("Retry-After", strconv.Itoa(secs)))
	}
	return res
}

// Outcome is what a phone (or a pool relaying an answer) learns from a final response: its code, and the reasons a tester
// needs to see why.
type Outcome struct {
	Code       int
	Reason     string
	Warning    string // the Warning's text, without code and agent
	Diagnostic int    // ms-diagnostics code, 0 if none
	RetryAfter time.Duration
}

// String renders the outcome for logs and reports.
func (o Outcome) String() string {
	s := fmt.Sprintf("%d %s", o.Code, o.Reason)
	if o.Diagnostic != 0 {
		s += fmt.Sprintf(" (ms-diagnostics %d)", o.Diagnostic)
	}
	if o.Warning != "" {
		s += ": " + o.Warning
	}
	return s
}

// OutcomeOf reads a final response's code, reason, Warning text, ms-diagnostics code and
// Retry-After.
func OutcomeOf(res *gosip.Response) Outcome {
	o := Outcome{Code: res.StatusCode, Reason: res.Reason}
	if h := res.GetHeader("Warning"); h != nil {
		o.Warning = WarningText(h.Value())
	}
	if h := res.GetHeader(HeaderDiagnostics); h != nil {
		o.Diagnostic = diagnosticCode(h.Value())
	}
	if h := res.GetHeader("Retry-After"); h != nil {
		// RFC 3261 20.33: delta-seconds, then an optional comment and parameters.
		v, _, _ := strings.Cut(h.Value(), ";")
		v, _, _ = strings.Cut(v, "(")
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
			o.RetryAfter = time.Duration(n) * time.Second
		}
	}
	return o
}

// WarningText extracts the quoted text of a Warning header value.
func WarningText(v string) string {
	i := strings.IndexByte(v, '"')
	j := strings.LastIndexByte(v, '"')
	if i >= 0 && j > i {
		return v[i+1 : j]
	}
	return v
}

// ConnectedToPrimary reads is-connected-to-primary off a presence-state header.
func ConnectedToPrimary(res *gosip.Response) (bool, bool) {
	h := res.GetHeader(HeaderPresenceState)
	if h == nil {
		return false, false
	}
	return !strings.Contains(h.Value(), `is-connected-to-primary="no"`), true
}

// UserOf returns the user part of a From/To/PAI-style address, or "".
func UserOf(h interface{ Value() string }) string {
	if h == nil {
		return ""
	}
	var u gosip.Uri
	v := h.Value()
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			v = v[i+1 : i+j]
		}
	}
	if err := gosip.ParseUri(v, &u); err != nil {
		return ""
	}
	return u.User
}
