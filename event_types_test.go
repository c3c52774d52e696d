package sesame

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// TestEventTypesComplete: every EventType constant declared in this
// package is in EventTypes once, so webhook endpoints can subscribe to it
// and the audit view can filter on it.
func TestEventTypesComplete(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := 0
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				v := spec.(*ast.ValueSpec)
				if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "EventType" {
					continue
				}
				for _, val := range v.Values {
					lit, ok := val.(*ast.BasicLit)
					if !ok {
						continue
					}
					s, _ := strconv.Unquote(lit.Value)
					declared++
					if !slices.Contains(EventTypes, EventType(s)) {
						t.Errorf("%s: event type %q is not in EventTypes", name, s)
					}
				}
			}
		}
	}
	if declared < 40 || declared != len(EventTypes) {
		t.Errorf("%d EventType constants declared, EventTypes lists %d", declared, len(EventTypes))
	}
	seen := map[EventType]bool{}
	for _, e := range EventTypes {
		if seen[e] {
			t.Errorf("%q twice in EventTypes", e)
		}
		seen[e] = true
	}
}
