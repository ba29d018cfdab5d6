package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pickupsim/pickupsim/sip/topology"
)

// scenarioKeys are the top-level keys of a scenario file.
var scenarioKeys = []string{"name", "description", "topology", "topologyFile", "outsiders", "steps"}

// LoadFile reads and checks one scenario file. Every problem is reported as an *Error in
// an ErrorList, wrapping ErrMalformed.
func LoadFile(path string) (*Scenario, error) {
	data, err := readFile(path) // readfile.go: regular files, bounded
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse reads a scenario from data; path names it in errors and anchors topologyFile.
func Parse(path string, data []byte) (*Scenario, error) {
	r := &reader{file: path}
	root, ok := r.document(data)
	if !ok {
		return nil, r.errs
	}
	m := r.mapping(root, "scenario", scenarioKeys...)
	if m == nil {
		return nil, r.errs
	}
	sc := &Scenario{File: path, Name: r.str(m["name"], "name"), Description: r.str(m["description"], "description")}
	if sc.Name == "" {
		sc.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	switch {
	case m["topology"] != nil && m["topologyFile"] != nil:
		r.errorf(m["topologyFile"], "give either topology or topologyFile, not both")
		return nil, r.errs
	case m["topology"] != nil:
		sc.Topology = r.readTopology(m["topology"])
	case m["topologyFile"] != nil:
		sc.TopologyFile = filepath.Join(filepath.Dir(path), r.str(m["topologyFile"], "topologyFile"))
		t, err := loadTopology(sc.TopologyFile)
		if err != nil {
			var list ErrorList
			if errors.As(err, &list) {
				r.errs = append(r.errs, list...)
			} else {
				r.errorf(m["topologyFile"], "topologyFile: %v", err)
			}
		}
		sc.Topology = t
	default:
		r.errorf(root, "a scenario needs a topology (inline) or a topologyFile")
	}
	if len(r.errs) > 0 {
		return nil, r.errs
	}
	var users []string
	for _, u := range sc.Topology.Users {
		users = append(users, u.Name)
	}
	sc.Outsiders = r.readOutsiders(m["outsiders"], poolNames(sc.Topology.Pools), users)
	if len(r.errs) > 0 {
		return nil, r.errs
	}
	c := newChecker(r, sc.Topology)
	for _, o := range sc.Outsiders {
		c.outsiders[o.Name] = true
	}
	sc.Steps = c.readSteps(m["steps"])
	if m["steps"] == nil {
		r.errs[len(r.errs)-1].Line = root.Line
	}
	if len(r.errs) > 0 {
		return nil, r.errs
	}
	return sc, nil
}

// document parses data into its single root node.
func (r *reader) document(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		r.yamlError(err)
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		r.errorf(&extra, "one scenario per file: a second YAML document starts here")
		return nil, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		r.errorf(&doc, "empty file")
		return nil, false
	}
	return doc.Content[0], true
}

// yamlError turns the YAML library's "yaml: line N: msg" into file:line: msg.
func (r *reader) yamlError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if _, e := fmt.Sscanf(msg, "line %d:", &line); e == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	r.errs = append(r.errs, &Error{File: r.file, Line: line, Msg: "bad YAML: " + msg})
}

// loadTopology reads a shared topology file: the mapping a scenario's topology key holds.
func loadTopology(path string) (t topology.Topology, err error) {
	data, err := readFile(path) // readfile.go: regular files, bounded
	if err != nil {
		return t, err
	}
	r := &reader{file: path}
	root, ok := r.document(data)
	if !ok {
		return t, r.errs
	}
	t = r.readTopology(root)
	if len(r.errs) > 0 {
		return t, r.errs
	}
	return t, nil
}

// Collect expands paths (files or folders) into the scenario files to replay: *.yaml and
// *.yml files of folders, recursively, sorted, except topology files (a file whose name
// starts with "topology" or that lives in a folder named "topologies") and load rehearsals
// (*.load.yaml, run by `pickupsim load`).
func Collect(paths ...string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		// A trailing separator makes WalkDir descend into a root that is a symlink.
		err = filepath.WalkDir(filepath.Clean(p)+string(filepath.Separator), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "topologies" || d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			ext := filepath.Ext(path)
			if (ext == ".yaml" || ext == ".yml") && !strings.HasPrefix(d.Name(), "topology") && !strings.HasSuffix(d.Name(), RehearsalSuffix) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}
