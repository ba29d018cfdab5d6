package scenario

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// LoadTopologyFile reads and checks a topology file: the mapping a scenario's topology key
// holds (see scenarios/topologies/contoso.yaml). Problems are reported as an ErrorList of
// "file:line: msg", like scenario files.
func LoadTopologyFile(path string) (topology.Topology, error) {
	return loadTopology(path)
}

// ParseTopology reads a topology from data; name labels it in errors.
func ParseTopology(name string, data []byte) (topology.Topology, error) {
	r := &reader{file: name}
	root, ok := r.document(data)
	if !ok {
		return topology.Topology{}, r.errs
	}
	t := r.readTopology(root)
	if len(r.errs) > 0 {
		return t, r.errs
	}
	return t, nil
}

// MarshalTopology renders t in the topology file format LoadTopologyFile reads, with
// header (if any) as a leading comment.
func MarshalTopology(t topology.Topology, header string) ([]byte, error) {
	var buf bytes.Buffer
	for _, line := range splitLines(header) {
		fmt.Fprintf(&buf, "# %s\n", line)
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(topologyDoc(t)); err != nil {
		return nil, fmt.Errorf("encoding topology: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding topology: %w", err)
	}
	return buf.Bytes(), nil
}

// SaveTopologyFile writes t to path atomically: to a temporary file in the same folder,
// synced, then renamed over path, so a crash leaves either the old file or the new one.
func SaveTopologyFile(path string, t topology.Topology, header string) error {
	data, err := MarshalTopology(t, header)
	if err != nil {
		return err
	}
	return writeAtomically(path, data)
}

// writeAtomically replaces path's content with data: temporary file, sync, rename.
func writeAtomically(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("saving topology: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("saving topology: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving topology: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving topology: %w", err)
	}
	if info, err := os.Stat(path); err == nil {
		_ = os.Chmod(tmp.Name(), info.Mode().Perm())
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving topology: %w", err)
	}
	return nil
}

// The yaml shapes of a topology file, in the keys readTopology accepts.
type (
	topologyYAML struct {
		Domain                 string      `yaml:"domain,omitempty"`
		RegistrarFailoverTimer string      `yaml:"registrarFailoverTimer,omitempty"`
		AutoRedirectOrbits     bool        `yaml:"autoRedirectOrbits,omitempty"`
		PickupMembersOnly      bool        `yaml:"pickupMembersOnly,omitempty"`
		DirectedPickupPrefix   string      `yaml:"directedPickupPrefix,omitempty"`
		Phones                 *phonesYAML `yaml:"phones,omitempty"`
		Pools                  []poolYAML  `yaml:"pools"`
		Users                  []userYAML  `yaml:"users,omitempty"`
		Orbits                 []orbitYAML `yaml:"orbits,omitempty"`
	}
	phonesYAML struct {
		RTPTimeout string `yaml:"rtpTimeout,omitempty"`
	}
	poolYAML struct {
		FQDN        string   `yaml:"fqdn"`
		Backup      string   `yaml:"backup,omitempty"`
		Address     string   `yaml:"address,omitempty"`
		CPSDisabled bool     `yaml:"cpsDisabled,omitempty"`
		CPS         *cpsYAML `yaml:"cps,omitempty"`
		Phase       string   `yaml:"phase,omitempty"`
		Down        bool     `yaml:"down,omitempty"`
	}
	cpsYAML struct {
		CallPickupTimeoutThreshold string `yaml:"callPickupTimeoutThreshold"`
		MaxCallPickupAttempts      int    `yaml:"maxCallPickupAttempts"`
		OnTimeoutURI               string `yaml:"onTimeoutURI,omitempty"`
		EnableMusicOnHold          bool   `yaml:"enableMusicOnHold"`
	}
	userYAML struct {
		Name        string `yaml:"name"`
		Home        string `yaml:"home"`
		Pickup      string `yaml:"pickup,omitempty"`
		Password    string `yaml:"password,omitempty"`
		PrivateLine string `yaml:"privateLine,omitempty"`
	}
	orbitYAML struct {
		Identity string `yaml:"identity"`
		Start    string `yaml:"start"`
		End      string `yaml:"end"`
		Service  string `yaml:"service"`
		Type     string `yaml:"type,omitempty"`
	}
)

func topologyDoc(t topology.Topology) topologyYAML {
	doc := topologyYAML{Domain: t.Domain, AutoRedirectOrbits: t.AutoRedirectOrbits, PickupMembersOnly: t.PickupMembersOnly}
	if t.RegistrarFailoverTimer != 0 {
		doc.RegistrarFailoverTimer = formatDuration(t.RegistrarFailoverTimer)
	}
	if t.DirectedPickupPrefix != topology.DefaultDirectedPickupPrefix {
		doc.DirectedPickupPrefix = t.DirectedPickupPrefix
	}
	if t.Phones.RTPTimeout != 0 {
		doc.Phones = &phonesYAML{RTPTimeout: formatDuration(t.Phones.RTPTimeout)}
	}
	for _, p := range t.Pools {
		py := poolYAML{FQDN: p.FQDN, Backup: p.Backup, Address: p.Address, CPSDisabled: p.CPSDisabled, Down: p.Down}
		if p.Phase != topology.Normal {
			py.Phase = p.Phase.String()
		}
		if p.CPS != nil && *p.CPS != park.DefaultCPSConfig() {
			py.CPS = cpsToYAML(*p.CPS)
		}
		doc.Pools = append(doc.Pools, py)
	}
	for _, u := range t.Users {
		doc.Users = append(doc.Users, userYAML{Name: u.Name, Home: u.HomePool, Pickup: u.PickupNumber, Password: u.Password, PrivateLine: u.PrivateLine})
	}
	for _, o := range t.Orbits {
		doc.Orbits = append(doc.Orbits, orbitYAML{Identity: o.Identity, Start: o.NumberRangeStart,
			End: o.NumberRangeEnd, Service: o.CallParkService, Type: string(o.Type)})
	}
	return doc
}

func cpsToYAML(c park.CPSConfig) *cpsYAML {
	return &cpsYAML{
		CallPickupTimeoutThreshold: formatDuration(c.CallPickupTimeoutThreshold),
		MaxCallPickupAttempts:      c.MaxCallPickupAttempts,
		OnTimeoutURI:               c.OnTimeoutURI,
		EnableMusicOnHold:          c.EnableMusicOnHold,
	}
}

// formatDuration writes "90s" rather than Go's "1m30s"; both read back the same.
func formatDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	return d.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}
