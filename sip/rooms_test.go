package sip

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The house has one role per room (issue 12): the pools decide nothing a named rejection
// of the core does not say, and pools and phones talk only through SIP.

// TestPoolsBuildNoRejections: every refusal a pool sends is one of the core's named
// rejections (sip/topology's rejection table); no file of the pools builds one itself.
func TestPoolsBuildNoRejections(t *testing.T) {
	sources, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, src := range sources {
		if strings.HasSuffix(src, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, src, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.CompositeLit); ok {
				if sel, ok := lit.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Rejection" {
					t.Errorf("%s: a Rejection literal: name the refusal in sip/topology instead", fset.Position(lit.Pos()))
				}
			}
			return true
		})
	}
}

// TestPoolsAndPhonesDoNotImportEachOther: the simulated phone sees the pools only through
// SIP, as a desk phone does, and the pools know no phone.
func TestPoolsAndPhonesDoNotImportEachOther(t *testing.T) {
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		require.NoError(t, err, "go list -deps %s", pkg)
		return strings.Fields(string(out))
	}
	const pools, phone = "github.com/pickupsim/pickupsim/sip", "github.com/pickupsim/pickupsim/sip/phone"
	assert.NotContains(t, deps(pools), phone, "the pools import the phone")
	assert.NotContains(t, deps(phone), pools, "the phone imports the pools")
}

// TestAPoolHoldsNoNetwork: a pool sees the deployment it runs in only through the seam
// (seam.go), so that it could run in a process of its own.
func TestAPoolHoldsNoNetwork(t *testing.T) {
	network := reflect.TypeOf(&Network{})
	for _, typ := range []reflect.Type{reflect.TypeOf(Pool{}), reflect.TypeOf(runtime{}), reflect.TypeOf(parking{})} {
		for i := range typ.NumField() {
			f := typ.Field(i)
			assert.NotEqual(t, network, f.Type, "%s.%s reaches into the Network", typ.Name(), f.Name)
		}
	}
}
