package scenario

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// reader walks yaml.Nodes of one file, collecting problems with their lines instead of
// stopping at the first, so an author sees everything wrong in one go.
type reader struct {
	file string
	errs ErrorList
}

func (r *reader) errorf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	r.errs = append(r.errs, &Error{File: r.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// mapping returns the keys of a mapping node, reporting keys not in allowed and
// duplicate keys. It returns nil (and reports) when n is not a mapping.
func (r *reader) mapping(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		r.errorf(n, "%s must be a mapping of %s", what, strings.Join(allowed, ", "))
		return nil
	}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !ok[k.Value]:
			r.errorf(k, "unknown key %q in %s (want %s)", k.Value, what, strings.Join(allowed, ", "))
		case out[k.Value] != nil:
			r.errorf(k, "key %q given twice in %s", k.Value, what)
		default:
			out[k.Value] = v
		}
	}
	return out
}

// require reports the keys of m that are missing.
func (r *reader) require(n *yaml.Node, m map[string]*yaml.Node, what string, keys ...string) bool {
	all := true
	for _, k := range keys {
		if m[k] == nil {
			r.errorf(n, "%s needs %q", what, k)
			all = false
		}
	}
	return all
}

// str reads a scalar as text ("100" and 100 both give "100").
func (r *reader) str(n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		r.errorf(n, "%s must be a single value", what)
		return ""
	}
	return n.Value
}

func (r *reader) integer(n *yaml.Node, what string) int {
	s := r.str(n, what)
	if s == "" {
		return 0
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		r.errorf(n, "%s %q is not a whole number", what, s)
	}
	return v
}

func (r *reader) boolean(n *yaml.Node, what string) bool {
	s := r.str(n, what)
	v, err := strconv.ParseBool(s)
	if err != nil {
		r.errorf(n, "%s %q is not true or false", what, s)
	}
	return v
}

// duration reads a Go duration ("90s", "5m") or hh:mm:ss ("00:05:00"), as Lync's cmdlets
// write a TimeSpan.
func (r *reader) duration(n *yaml.Node, what string) time.Duration {
	s := strings.TrimSpace(r.str(n, what))
	d, err := ParseDuration(s)
	if err != nil {
		r.errorf(n, "%s: %v", what, err)
	}
	return d
}

// ParseDuration reads a Go duration ("90s", "5m") or hh:mm:ss ("00:05:00"); negative
// durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("bad duration %q: want a duration with a unit (300ms, 90s, 5m) or hh:mm:ss (00:05:00)", s)
	var d time.Duration
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) != 3 {
			return 0, bad
		}
		var vals [3]int
		for i, p := range parts {
			v, err := strconv.Atoi(p)
			if err != nil || v < 0 || (i > 0 && v > 59) || p == "" {
				return 0, bad
			}
			vals[i] = v
		}
		d = time.Duration(vals[0])*time.Hour + time.Duration(vals[1])*time.Minute + time.Duration(vals[2])*time.Second
	} else {
		v, err := time.ParseDuration(s)
		if err != nil {
			return 0, bad
		}
		d = v
	}
	if d < 0 {
		return 0, fmt.Errorf("bad duration %q: must not be negative", s)
	}
	return d, nil
}

// strings reads one scalar or a sequence of scalars.
func (r *reader) strs(n *yaml.Node, what string) []string {
	if n.Kind == yaml.SequenceNode {
		var out []string
		for _, c := range n.Content {
			if s := r.str(c, what); s != "" {
				out = append(out, s)
			}
		}
		if len(out) == 0 {
			r.errorf(n, "%s must name at least one", what)
		}
		return out
	}
	s := r.str(n, what)
	if s == "" {
		r.errorf(n, "%s must not be empty", what)
		return nil
	}
	return []string{s}
}

// sortedKeys lists a set, for messages.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
