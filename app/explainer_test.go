package app

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/server"
)

// TestExplainerOnlyOnTheDevServer: the explainer is on for `sesame serve`
// with no configuration file on a loopback address (the dev server), off
// for a deployment read from a file or listening elsewhere, and the key
// wins either way.
func TestExplainerOnlyOnTheDevServer(t *testing.T) {
	for _, c := range []struct {
		name     string
		file     string
		addr     string
		set, val bool
		want     bool
	}{
		{"dev server", "", "127.0.0.1:8080", false, false, true},
		{"from a file", "/etc/sesame.yaml", "127.0.0.1:8080", false, false, false},
		{"public address", "", "0.0.0.0:8080", false, false, false},
		{"dev server, set false", "", "127.0.0.1:8080", true, false, false},
		{"from a file, set true", "/etc/sesame.yaml", "0.0.0.0:8080", true, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t, filepath.Join(t.TempDir(), "sesame.db"))
			cfg.File, cfg.Addr = c.file, c.addr
			if c.set {
				cfg.Explainer = c.val
				cfg.SetSource("explainer", config.Source{Kind: config.FromFile, Where: "test"})
			}
			a, err := newApp(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			on := slices.ContainsFunc(a.Server().Routes(), func(r server.Route) bool { return r.Pattern == "/how-it-works" })
			if on != c.want {
				t.Fatalf("explainer on = %v, want %v", on, c.want)
			}
		})
	}
}
