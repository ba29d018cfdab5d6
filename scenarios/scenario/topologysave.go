package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// UpdateTopologyFile saves t to the topology file at path the way an administrator would
// edit it by hand: through a yaml.v3 node round trip of the file as it is, so that its
// comments, key order, flow style and short pool names ("pool01") stay, and only the
// values that changed are rewritten. Entries of pools, users and orbits are matched by
// fqdn, name and identity; new ones are appended, removed ones dropped (with their
// comments). A file that does not exist yet, or is not a topology mapping, is written
// afresh by SaveTopologyFile with header. The write is atomic either way.
func UpdateTopologyFile(path string, t topology.Topology, header string) error {
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return SaveTopologyFile(path, t, header)
	}
	if err != nil {
		return fmt.Errorf("saving topology: %w", err)
	}
	var doc yaml.Node
	if yaml.Unmarshal(old, &doc) != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return SaveTopologyFile(path, t, header)
	}
	var fresh yaml.Node
	if err := fresh.Encode(topologyDoc(t)); err != nil {
		return fmt.Errorf("encoding topology: %w", err)
	}
	var cpsDefaults yaml.Node
	if err := cpsDefaults.Encode(cpsToYAML(park.DefaultCPSConfig())); err != nil {
		return fmt.Errorf("encoding topology: %w", err)
	}
	m := merger{pools: poolNames(t.Pools), defaults: map[string]*yaml.Node{"cps": &cpsDefaults}}
	m.mapping(doc.Content[0], &fresh)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("encoding topology: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encoding topology: %w", err)
	}
	return writeAtomically(path, buf.Bytes())
}

// merger folds a freshly encoded topology into the nodes of the file it came from.
type merger struct {
	pools poolSet
	// defaults are the values of keys the encoder leaves out when they hold defaults (a
	// pool's cps settings): a key the file has is set to them rather than dropped.
	defaults map[string]*yaml.Node
}

// keyOf names the field that identifies an entry of each list.
var keyOf = map[string]string{"pools": "fqdn", "users": "name", "orbits": "identity"}

// mapping updates old, a mapping node, to hold new's keys and values.
func (m merger) mapping(old, new *yaml.Node) {
	for i := 0; i+1 < len(new.Content); i += 2 {
		k, v := new.Content[i], new.Content[i+1]
		if j := find(old, k.Value); j >= 0 {
			m.value(k.Value, old.Content[j+1], v)
		} else {
			old.Content = append(old.Content, k, v)
		}
	}
	for j := 0; j+1 < len(old.Content); {
		k, v := old.Content[j], old.Content[j+1]
		if find(new, k.Value) < 0 && !zero(v) {
			if d := m.defaults[k.Value]; d != nil {
				m.value(k.Value, v, d)
			} else {
				old.Content = append(old.Content[:j], old.Content[j+2:]...)
				continue
			}
		}
		j += 2
	}
}

// value updates old, the value of key, to mean what new means.
func (m merger) value(key string, old, new *yaml.Node) {
	switch {
	case old.Kind == yaml.ScalarNode && new.Kind == yaml.ScalarNode:
		if m.same(old.Value, new.Value) {
			return // keep the file's spelling ("pool01", "5m", "00:01:30")
		}
		v := new.Value
		if m.pools.resolve(old.Value) != "" && !strings.Contains(old.Value, ".") {
			v = m.short(v) // the file names pools by their first label: so do we
		}
		old.Value, old.Tag, old.Style = v, new.Tag, new.Style
	case old.Kind == yaml.MappingNode && new.Kind == yaml.MappingNode:
		m.mapping(old, new)
	case old.Kind == yaml.SequenceNode && new.Kind == yaml.SequenceNode && keyOf[key] != "":
		m.list(keyOf[key], old, new)
	default:
		*old = *new
	}
}

// list updates a list of mappings identified by field: entries kept in place, new ones
// appended, gone ones dropped.
func (m merger) list(field string, old, new *yaml.Node) {
	var kept []*yaml.Node
	used := map[*yaml.Node]bool{}
	for _, n := range new.Content {
		id := fieldOf(n, field)
		var match *yaml.Node
		for _, o := range old.Content {
			if !used[o] && o.Kind == yaml.MappingNode && m.same(fieldOf(o, field), id) {
				match = o
				break
			}
		}
		if match == nil {
			continue
		}
		used[match] = true
		m.mapping(match, n)
	}
	for _, o := range old.Content {
		if used[o] {
			kept = append(kept, o)
		}
	}
	for _, n := range new.Content {
		found := false
		for _, o := range kept {
			if m.same(fieldOf(o, field), fieldOf(n, field)) {
				found = true
				break
			}
		}
		if !found {
			if len(kept) > 0 {
				n.Style = kept[len(kept)-1].Style // a new user is written like the others
			}
			kept = append(kept, n)
		}
	}
	old.Content = kept
}

// same reports whether two scalars of a topology file mean the same: equal text, the same
// pool ("pool01" and "pool01.contoso.com"), or the same duration ("5m" and "300s").
func (m merger) same(a, b string) bool {
	if a == b {
		return true
	}
	if pa, pb := m.pools.resolve(a), m.pools.resolve(b); pa != "" && pa == pb {
		return true
	}
	da, errA := ParseDuration(a)
	db, errB := ParseDuration(b)
	return errA == nil && errB == nil && da == db
}

// short returns a pool's first label when it names that pool alone.
func (m merger) short(fqdn string) string {
	if label, _, ok := strings.Cut(fqdn, "."); ok && m.pools.resolve(label) == fqdn {
		return label
	}
	return fqdn
}

func find(mapping *yaml.Node, key string) int {
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i].Value == key {
			return i
		}
	}
	return -1
}

func fieldOf(n *yaml.Node, field string) string {
	if i := find(n, field); i >= 0 {
		return n.Content[i+1].Value
	}
	return ""
}

// zero reports a scalar that states a default (false, 0, empty): a key the encoder omits
// but the administrator may have written out; keeping it changes nothing.
func zero(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	switch n.Value {
	case "false", "0", "", "normal":
		return true
	}
	return false
}
