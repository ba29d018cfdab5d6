package lync

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sipfrag is how a transfer went, as the transferee tells the transferor in a NOTIFY of
// the implicit refer subscription (RFC 3515 2.4.5, a message/sipfrag of RFC 3420): the
// referred call's status line, its Warning and ms-diagnostics when it was refused, and
// the orbit the Call Park application named when the transfer was a park.
type Sipfrag struct {
	Outcome
	ParkOrbit string
}

// Render writes the sipfrag a transferee sends; agent names it in the Warning and as the
// ms-diagnostics source.
func (f Sipfrag) Render(agent string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", f.Code, f.Reason)
	if f.Warning != "" {
		fmt.Fprintf(&b, "Warning: %s\r\n", Warning(agent, f.Warning).Value())
	}
	if f.Diagnostic != 0 {
		fmt.Fprintf(&b, "%s: %s\r\n", HeaderDiagnostics, Diagnostics(f.Diagnostic, agent).Value())
	}
	if f.ParkOrbit != "" {
		fmt.Fprintf(&b, "%s: %s\r\n", HeaderParkOrbit, f.ParkOrbit)
	}
	return b.String()
}

// ParseSipfrag reads a message/sipfrag: its status line, and the Warning text,
// ms-diagnostics code and X-Park-Orbit among its headers.
func ParseSipfrag(body []byte) (Sipfrag, error) {
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	if !sc.Scan() {
		return Sipfrag{}, errors.New("empty sipfrag")
	}
	parts := strings.SplitN(strings.TrimSpace(sc.Text()), " ", 3)
	if len(parts) < 2 || !strings.HasPrefix(parts[0], "SIP/") {
		return Sipfrag{}, fmt.Errorf("sipfrag status line %q", sc.Text())
	}
	code, err := strconv.Atoi(parts[1])
	if err != nil {
		return Sipfrag{}, fmt.Errorf("sipfrag status code %q", parts[1])
	}
	f := Sipfrag{Outcome: Outcome{Code: code}}
	if len(parts) == 3 {
		f.Reason = parts[2]
	}
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case strings.ToLower(HeaderParkOrbit):
			f.ParkOrbit = value
		case "warning":
			f.Warning = WarningText(value)
		case strings.ToLower(HeaderDiagnostics):
			f.Diagnostic = diagnosticCode(value)
		}
	}
	return f, nil
}

// diagnosticCode is the code an ms-diagnostics value starts with (`1008;reason="..."`), 0
// if none.
func diagnosticCode(v string) int {
	v, _, _ = strings.Cut(v, ";")
	n, _ := strconv.Atoi(strings.TrimSpace(v))
	return n
}
