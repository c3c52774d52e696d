package password

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestConstantTimeComparison guards SEC-47 structurally, since timing cannot
// be asserted reliably: the package compares hashes with
// crypto/subtle.ConstantTimeCompare and never with bytes.Equal,
// reflect.DeepEqual or a string comparison of encoded hashes.
func TestConstantTimeComparison(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	constantTime := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch pkg.Name + "." + sel.Sel.Name {
			case "subtle.ConstantTimeCompare":
				constantTime++
			case "bytes.Equal", "bytes.Compare", "reflect.DeepEqual", "strings.Compare":
				t.Errorf("%s: %s.%s; compare secrets with subtle.ConstantTimeCompare (SEC-47)",
					fset.Position(call.Pos()), pkg.Name, sel.Sel.Name)
			}
			return true
		})
	}
	if constantTime == 0 {
		t.Error("no call to subtle.ConstantTimeCompare; Verify must compare in constant time (SEC-47)")
	}
}
