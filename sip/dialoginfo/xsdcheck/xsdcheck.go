// Package xsdcheck validates dialog-info documents against the XML schema of RFC 4235
// section 4.4 (testdata/dialog-info.xsd) with xmllint (Debian's libxml2-utils), for tests:
// what pools send busy lamps is checked by the schema phones are written against, not by
// the package that wrote it.
package xsdcheck

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

//go:embed testdata/dialog-info.xsd
var schema []byte

// ErrNoXmllint is returned when xmllint is not installed.
var ErrNoXmllint = errors.New("xmllint not found (Debian package libxml2-utils)")

// Validate checks each document against the schema, in one xmllint run, without the
// network (the schema's import of xml.xsd is for xml:lang, which it never uses: xmllint
// skips it with a warning). The error names every document that fails, and why.
func Validate(docs ...[]byte) error {
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		return ErrNoXmllint
	}
	dir, err := os.MkdirTemp("", "dialog-info-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	xsd := filepath.Join(dir, "dialog-info.xsd")
	if err := os.WriteFile(xsd, schema, 0o600); err != nil {
		return err
	}
	args := []string{"--noout", "--nonet", "--schema", xsd}
	for i, d := range docs {
		f := filepath.Join(dir, fmt.Sprintf("doc%03d.xml", i+1))
		if err := os.WriteFile(f, d, 0o600); err != nil {
			return err
		}
		args = append(args, f)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "xml.xsd") || strings.Contains(l, "Skipping the import") || strings.TrimSpace(l) == "" {
				continue
			}
			lines = append(lines, strings.ReplaceAll(l, dir+string(filepath.Separator), ""))
		}
		return fmt.Errorf("dialog-info documents do not validate against RFC 4235's schema: %s", strings.Join(lines, "; "))
	}
	return nil
}

// Require validates docs in a test: without xmllint it skips, unless CI is set, where it
// fails (.ci/run installs libxml2-utils).
func Require(t testing.TB, docs ...[]byte) {
	t.Helper()
	err := Validate(docs...)
	if errors.Is(err, ErrNoXmllint) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v: .ci/run installs it", err)
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
}
