package main

import (
	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"

	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/sqlite"
)

// keysRow is one row of `sesame keys list`.
type keysRow struct{ kid, alg, state string }

func parseKeysList(t *testing.T, out string) []keysRow {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "KID") || !strings.Contains(lines[0], "ACTIVATES") {
		t.Fatalf("keys list: got %q, want a header line", out)
	}
	var rows []keysRow
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 3 {
			t.Fatalf("keys list row %q: too few columns", l)
		}
		rows = append(rows, keysRow{f[0], f[1], f[2]})
	}
	return rows
}

// keysByAlg maps each algorithm to the kid of its key in state.
func keysByAlg(rows []keysRow, state string) map[string]string {
	out := map[string]string{}
	for _, r := range rows {
		if r.state == state {
			out[r.alg] = r.kid
		}
	}
	return out
}

// parseRotate maps each algorithm to its new kid in the output of
// `sesame keys rotate`.
func parseRotate(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^new signing key (\S+) \((\w+)\): `).FindAllStringSubmatch(out, -1) {
		got[m[2]] = m[1]
	}
	if len(got) == 0 {
		t.Fatalf("keys rotate: got %q, want a line per new key", out)
	}
	return got
}

// keysEnv clears the master-key environment for the test.
func keysEnv(t *testing.T) {
	t.Setenv("SESAME_MASTER_KEY", "")
	t.Setenv("SESAME_MASTER_KEY_FILE", "")
}

func (w *world) keys(want int, args ...string) result {
	w.t.Helper()
	r := w.run("", append(append([]string{"keys"}, args...), "--db", w.db)...)
	if r.code != want {
		w.t.Fatalf("sesame keys %s: got exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

func TestKeysListAndRotate(t *testing.T) {
	keysEnv(t)
	w := newWorld(t)
	keyFile := filepath.Join(filepath.Dir(w.db), "sesame.key")

	if r := w.keys(1, "list"); !strings.Contains(r.stderr, "no Sesame database at") {
		t.Fatalf("keys list on a missing database: stderr %q, want it refused", r.stderr)
	}
	r := w.keys(0, "list", "--create")
	text, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("first keys list created no master key file next to the database: %v", err)
	}
	w.secret(strings.TrimSpace(string(text)))
	if info, _ := os.Stat(keyFile); info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: got %#o, want 0600", info.Mode().Perm())
	}
	if !strings.Contains(r.stderr, "generated master key") || !strings.Contains(r.stderr, "generated signing key") {
		t.Errorf("first run stderr: got %q, want the generation of the master key and the signing key logged", r.stderr)
	}
	rows := parseKeysList(t, r.stdout)
	byAlg := keysByAlg(rows, "active")
	if len(rows) != 2 || byAlg["ES256"] == "" || byAlg["RS256"] == "" {
		t.Fatalf("keys list on a new database: got %+v, want an active ES256 key and an active RS256 key (signing_algs)", rows)
	}
	first, firstRS := byAlg["ES256"], byAlg["RS256"]

	// A second run loads the same keys and generates nothing.
	r = w.keys(0, "list")
	if rows := parseKeysList(t, r.stdout); len(rows) != 2 || keysByAlg(rows, "active")["ES256"] != first || keysByAlg(rows, "active")["RS256"] != firstRS {
		t.Fatalf("second keys list: got %+v, want the same keys %s and %s", rows, first, firstRS)
	}
	if strings.Contains(r.stderr, "generated") {
		t.Errorf("second run generated something: %q", r.stderr)
	}

	before := time.Now()
	r = w.keys(0, "rotate")
	f := strings.Fields(r.stdout)
	if len(f) < 4 || f[0] != "new" || f[3] == first || !strings.Contains(r.stdout, "(in 1h0m0s)") {
		t.Fatalf("keys rotate: got %q, want the new kid and its activation in 1h", r.stdout)
	}
	newKID := f[3]
	rotated := parseRotate(t, r.stdout)
	if rotated["ES256"] != newKID || rotated["RS256"] == "" || rotated["RS256"] == firstRS {
		t.Fatalf("keys rotate: got %q, want a new ES256 key first, then a new RS256 key", r.stdout)
	}
	m := regexp.MustCompile(`signs from (\S+ \S+) `).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("keys rotate: got %q, want the activation time", r.stdout)
	}
	at, err := time.Parse(keysTimeLayout, m[1])
	if err != nil || at.Before(before.Add(time.Hour).Truncate(time.Second)) || at.After(time.Now().Add(time.Hour)) {
		t.Errorf("keys rotate: activation %v (%v), want about an hour from now", at, err)
	}

	rows = parseKeysList(t, w.keys(0, "list").stdout)
	states := map[string]string{}
	for _, row := range rows {
		states[row.kid] = row.state
	}
	if len(rows) != 4 || states[first] != "active" || states[firstRS] != "active" || states[newKID] != "pending" || states[rotated["RS256"]] != "pending" {
		t.Fatalf("keys list after rotate: got %+v, want %s and %s active, %s and %s pending", rows, first, firstRS, newKID, rotated["RS256"])
	}

	// A server's ring over the same database sees the rotation on reload.
	ctx := context.Background()
	db, err := sqlite.Open(ctx, w.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	master, err := keyring.LoadMasterKey("", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Open(ctx, db, master, keyring.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct {
		Keys []struct {
			KID string `json:"kid"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(ring.JWKS(), &jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 4 || ring.SigningKey().KID() != first || ring.SigningKeyFor("RS256").KID() != firstRS {
		t.Fatalf("ring after rotate: JWKS %s, signing %s; want the four keys published and %s signing", ring.JWKS(), ring.SigningKey().KID(), first)
	}

	// --delay 0 signs at once, which verifiers with a cached JWKS do not
	// expect: refused without --force.
	if r := w.keys(2, "rotate", "--delay", "0s"); !strings.Contains(r.stderr, "--force") {
		t.Errorf("rotate --delay 0s: stderr %q, want --force named", r.stderr)
	}
	r = w.keys(0, "rotate", "--delay", "0", "--force")
	if !strings.Contains(r.stderr, "signs at once") {
		t.Errorf("rotate --delay 0: stderr %q, want a warning", r.stderr)
	}
	immediate := parseRotate(t, r.stdout)
	rows = parseKeysList(t, w.keys(0, "list").stdout)
	for _, row := range rows {
		want := "retired"
		if row.kid == immediate[row.alg] {
			want = "active"
		}
		if row.state != want {
			t.Errorf("after rotate --delay 0: key %s is %s, want %s", row.kid, row.state, want)
		}
	}
}

func TestKeysMasterKeyErrors(t *testing.T) {
	keysEnv(t)
	w := newWorld(t)
	keyFile := filepath.Join(filepath.Dir(w.db), "sesame.key")
	w.keys(0, "list", "--create")
	text, _ := os.ReadFile(keyFile)
	w.secret(strings.TrimSpace(string(text)))

	// The environment variable wins over the file: another key fails.
	raw := make([]byte, 32)
	rand.Read(raw)
	other := base64.StdEncoding.EncodeToString(raw)
	w.secret(other)
	t.Setenv("SESAME_MASTER_KEY", other)
	r := w.keys(1, "list")
	if !strings.Contains(r.stderr, "wrong master key") || !strings.Contains(r.stderr, "SESAME_MASTER_KEY") {
		t.Errorf("wrong SESAME_MASTER_KEY: stderr %q, want the wrong master key named", r.stderr)
	}
	t.Setenv("SESAME_MASTER_KEY", "not-base64")
	w.keys(1, "list")

	// The right key from the environment works without the file.
	t.Setenv("SESAME_MASTER_KEY", strings.TrimSpace(string(text)))
	if err := os.Rename(keyFile, keyFile+".bak"); err != nil {
		t.Fatal(err)
	}
	w.keys(0, "list")

	// Neither: refused, and no new key file.
	t.Setenv("SESAME_MASTER_KEY", "")
	r = w.keys(1, "rotate")
	if !strings.Contains(r.stderr, "no master key") {
		t.Errorf("no master key: stderr %q", r.stderr)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Errorf("a new master key file was created although the database holds keys (%v)", err)
	}

	// --master-key-file points at the moved file.
	w.keys(0, "list", "--master-key-file", keyFile+".bak")
	t.Setenv("SESAME_MASTER_KEY_FILE", keyFile+".bak")
	w.keys(0, "list")
}

func TestKeysUsage(t *testing.T) {
	keysEnv(t)
	w := newWorld(t)
	for _, args := range [][]string{
		{"keys", "list", "extra"},
		{"keys", "rotate", "extra"},
		{"keys", "rotate", "--delay", "-1s"},
		{"keys", "rotate", "--delay", "soon"},
		{"keys", "list", "--db", "mysql://x"},
	} {
		if r := w.run("", args...); r.code != 2 {
			t.Errorf("%v: got exit %d, want 2 (stderr %q)", args, r.code, r.stderr)
		}
	}
	for _, sub := range []string{"list", "rotate"} {
		if r := w.run("", "keys", sub, "--help"); r.code != 0 || !strings.Contains(r.stderr, "master-key-file") {
			t.Errorf("keys %s --help: got exit %d, stderr %q", sub, r.code, r.stderr)
		}
	}
	if r := w.run("", "keys", "--help"); !strings.Contains(r.stdout, "rotate") || !strings.Contains(r.stdout, "list") {
		t.Errorf("keys --help: got %q, want list and rotate", r.stdout)
	}
	if _, err := os.Stat(w.db); !os.IsNotExist(err) {
		t.Errorf("usage errors created the database (%v)", err)
	}
}

func TestKeysDefaultMasterKeyFile(t *testing.T) {
	for in, want := range map[string]string{
		"sesame.db":         "sesame.key",
		"/var/lib/prod.db":  "/var/lib/prod.key",
		"data/sesame":       "data/sesame.key",
		"sesame.key":        "sesame.key.key",
		"dir.v2/db.sqlite3": "dir.v2/db.key",
	} {
		cfg := config.Default()
		cfg.DB = in
		if got := app.MasterKeyFile(cfg); got != want {
			t.Errorf("default master key file of db %q: got %q, want %q", in, got, want)
		}
	}
}
