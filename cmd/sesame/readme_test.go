package main

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/config"
)

// readme returns the repository's README.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReadmeConfigTable: the README's configuration table lists exactly
// the keys and flags `sesame serve` has, each with its real default, so it
// cannot go stale.
func TestReadmeConfigTable(t *testing.T) {
	text := readme(t)
	start := strings.Index(text, "| key | flag | default | meaning |")
	if start < 0 {
		t.Fatal("README: no configuration table")
	}
	rows := map[string][2]string{} // key → flag, default
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| (?:`(--[a-z-]+)`|\\(env only\\)|\\(file only\\)) \\| (?:`([^`]*)`|none) \\|")
	for _, line := range strings.Split(text[start:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		m := row.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("README: unreadable configuration row %q", line)
			continue
		}
		rows[m[1]] = [2]string{m[2], m[3]}
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	config.AddFlags(fs)
	seen := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		key := strings.ReplaceAll(f.Name, "-", "_")
		seen[key] = true
		r, ok := rows[key]
		if !ok {
			t.Errorf("README: flag --%s (key %s) is missing from the configuration table", f.Name, key)
			return
		}
		if r[0] != "--"+f.Name {
			t.Errorf("README: key %s: flag %q, want --%s", key, r[0], f.Name)
		}
		if r[1] != f.DefValue {
			t.Errorf("README: key %s: default %q, want %q", key, r[1], f.DefValue)
		}
	})
	for key, r := range rows {
		fileOnly := config.KeyNamed(key) != nil && config.KeyNamed(key).FileOnly()
		if !seen[key] && !((key == "master_key" || fileOnly) && r[0] == "") {
			t.Errorf("README: the configuration table lists %s, which serve does not have", key)
		}
	}
	for _, k := range config.Keys() {
		if _, ok := rows[k.Name]; !ok {
			t.Errorf("README: key %s is missing", k.Name)
		}
	}
	for _, p := range config.Presets() {
		if !strings.Contains(text, "| `"+p.Name+"` |") {
			t.Errorf("README: preset %s is not documented", p.Name)
		}
	}
}

// TestReadmeCommands: every command of the binary is in the README's
// command table.
func TestReadmeCommands(t *testing.T) {
	text := readme(t)
	for name := range commands {
		if !strings.Contains(text, "| `sesame "+name) && !strings.Contains(text, "`sesame "+name+" ") {
			t.Errorf("README: command %q is not documented", name)
		}
	}
	for _, sub := range []string{"config check", "config init", "config set-identity", "version", "keys rotate"} {
		if !strings.Contains(text, "`sesame "+sub) {
			t.Errorf("README: sesame %s is not documented", sub)
		}
	}
}
