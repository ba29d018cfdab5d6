package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ErrBadRequest wraps every reason a cmdlet call is refused before anything is changed:
// malformed JSON, unknown or missing parameters, values of the wrong type.
var ErrBadRequest = errors.New("bad request")

// params are a cmdlet's named parameters, matched case-insensitively as PowerShell does.
// Values may be JSON strings, numbers or booleans; the command line sends strings.
type params struct {
	vals map[string]any // by lower-case name
	seen map[string]bool
	errs []string
}

func parseParams(body []byte) (*params, error) {
	p := &params{vals: map[string]any{}, seen: map[string]bool{}}
	if len(strings.TrimSpace(string(body))) == 0 {
		return p, nil
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("%w: the body must be a JSON object of parameters: %v", ErrBadRequest, err)
	}
	for k, v := range raw {
		name := strings.ToLower(strings.TrimPrefix(k, "-"))
		if _, dup := p.vals[name]; dup {
			return nil, fmt.Errorf("%w: parameter %s given twice", ErrBadRequest, k)
		}
		p.vals[name] = v
	}
	return p, nil
}

func (p *params) errorf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Sprintf(format, args...))
}

// str returns a text parameter; required ones are reported when missing.
func (p *params) str(name string, required bool) (string, bool) {
	v, ok := p.vals[strings.ToLower(name)]
	p.seen[strings.ToLower(name)] = true
	if !ok || v == nil {
		if required {
			p.errorf("missing parameter -%s", name)
		}
		return "", false
	}
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "" {
			p.errorf("parameter -%s is empty", name)
			return "", false
		}
		return strings.TrimSpace(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	default:
		p.errorf("parameter -%s must be text, not %T", name, v)
		return "", false
	}
}

// boolean returns a true/false parameter; "$true" and "$false" are accepted as PowerShell
// writes them.
func (p *params) boolean(name string) (bool, bool) {
	v, ok := p.vals[strings.ToLower(name)]
	p.seen[strings.ToLower(name)] = true
	if !ok {
		return false, false
	}
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimPrefix(strings.TrimSpace(x), "$")) {
		case "true", "1", "yes":
			return true, true
		case "false", "0", "no":
			return false, true
		}
	}
	p.errorf("parameter -%s must be $true or $false, not %v", name, v)
	return false, false
}

// integer returns a whole-number parameter.
func (p *params) integer(name string) (int, bool) {
	v, ok := p.vals[strings.ToLower(name)]
	p.seen[strings.ToLower(name)] = true
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n, true
		}
	}
	p.errorf("parameter -%s must be a whole number, not %v", name, v)
	return 0, false
}

// check reports missing, malformed and unknown parameters, all at once.
func (p *params) check(cmdlet string) error {
	var unknown []string
	for k := range p.vals {
		if !p.seen[k] {
			unknown = append(unknown, "-"+k)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		p.errorf("no parameter named %s", strings.Join(unknown, ", "))
	}
	if len(p.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s: %s", ErrBadRequest, cmdlet, strings.Join(p.errs, "; "))
}
