package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/oauth"
)

// clientsRun runs `sesame clients VERB --db <world db> ARGS...`.
func (w *world) clientsRun(verb string, args ...string) result {
	w.t.Helper()
	return w.run("", append([]string{"clients", verb, "--db", w.db}, args...)...)
}

func (w *world) clientsMust(want int, verb string, args ...string) result {
	w.t.Helper()
	r := w.clientsRun(verb, args...)
	if r.code != want {
		w.t.Fatalf("sesame clients %s %s: got exit %d, want %d\nstdout: %s\nstderr: %s", verb, strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// storedClient reads a client through the deployment, as a server would.
func (w *world) storedClient(id string, configFile string) (*oauth.Client, error) {
	w.t.Helper()
	cfg, err := config.Load(config.Sources{File: configFile, LookupEnv: func(string) (string, bool) { return "", false }, Role: config.RoleCommand})
	if err != nil {
		w.t.Fatal(err)
	}
	cfg.DB = w.db
	a, err := app.New(context.Background(), cfg, app.ForCommand(), app.WithLogger(quietLogger(&Env{Stderr: w.output("app")})))
	if err != nil {
		w.t.Fatal(err)
	}
	defer a.Close()
	return a.Clients().Client(context.Background(), id)
}

// hashForms are the printed forms of a secret's hash, none of which any
// command may print.
func hashForms(secret string) []string {
	h := sha256.Sum256([]byte(secret))
	return []string{hex.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:]), base64.RawURLEncoding.EncodeToString(h[:])}
}

// TestClientsLifecycle: add prints the ID and the secret once (JSON with
// --json), the stored client authenticates with that secret only, list
// shows it without secret or hash, rotate-secret replaces the secret,
// remove deletes it, and a second remove fails (exit 1).
func TestClientsLifecycle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.addUser("alice", canaryPassword, true)
	r := w.clientsMust(0, "add", "--redirect-uri", "https://app.example.com/cb", "--redirect-uri", "http://127.0.0.1:8400/cb",
		"--post-logout-uri", "https://app.example.com/", "--backchannel-logout-uri", "https://app.example.com/bc",
		"--first-party", "--scope", "openid,profile", "--id-token-alg", "ES256", "--json", "Team wiki")
	var out secretOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("add --json: %v in %q", err, r.stdout)
	}
	if out.ClientID == "" || len(out.ClientSecret) < 40 {
		t.Fatalf("add --json: got %+v, want an ID and a 256-bit secret", out)
	}
	w.secret(hashForms(out.ClientSecret)...)
	c, err := w.storedClient(out.ClientID, "")
	if err != nil {
		t.Fatal(err)
	}
	if !c.CheckSecret(out.ClientSecret) || c.CheckSecret(out.ClientSecret+"x") || c.Public || !c.FirstParty || c.Name != "Team wiki" ||
		c.IDTokenAlg != "ES256" || c.BackchannelLogoutURI != "https://app.example.com/bc" || strings.Join(c.Scopes, " ") != "openid profile" ||
		len(c.RedirectURIs) != 2 || c.AuthMethod != oauth.AuthClientSecretBasic {
		t.Errorf("stored client: %+v", c)
	}

	// A public client: no secret printed.
	r = w.clientsMust(0, "add", "--public", "--redirect-uri", "com.example.app:/cb", "Phone app")
	if !strings.HasPrefix(r.stdout, "created public client \"Phone app\"\nclient_id:     ") || strings.Contains(r.stdout, "client_secret") {
		t.Errorf("add --public: got %q", r.stdout)
	}
	publicID := strings.TrimSpace(strings.TrimPrefix(strings.Split(r.stdout, "\n")[1], "client_id:"))

	list := w.clientsMust(0, "list").stdout
	for _, want := range []string{out.ClientID + "  Team wiki", "confidential  yes", "https://app.example.com/cb,http://127.0.0.1:8400/cb  https://app.example.com/bc", publicID + "  Phone app", "public"} {
		if !strings.Contains(list, want) {
			t.Errorf("list: want %q in\n%s", want, list)
		}
	}
	js := w.clientsMust(0, "list", "--json").stdout
	var listed []clientOut
	if err := json.Unmarshal([]byte(js), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("list --json: %v, %d clients:\n%s", err, len(listed), js)
	}
	if strings.Contains(list+js, out.ClientSecret) {
		t.Error("list printed the secret")
	}

	// rotate-secret: a new secret, printed once; the old one stops working.
	r = w.clientsMust(0, "rotate-secret", "--json", out.ClientID)
	var rot secretOut
	if err := json.Unmarshal([]byte(r.stdout), &rot); err != nil || rot.ClientID != out.ClientID || rot.ClientSecret == "" || rot.ClientSecret == out.ClientSecret {
		t.Fatalf("rotate-secret --json: got %q, %v", r.stdout, err)
	}
	w.secret(hashForms(rot.ClientSecret)...)
	c, err = w.storedClient(out.ClientID, "")
	if err != nil || !c.CheckSecret(rot.ClientSecret) || c.CheckSecret(out.ClientSecret) {
		t.Errorf("after rotation: %v; new secret works %v, old %v", err, c.CheckSecret(rot.ClientSecret), c.CheckSecret(out.ClientSecret))
	}
	if c.Name != "Team wiki" || !c.FirstParty || len(c.RedirectURIs) != 2 {
		t.Errorf("rotation changed more than the secret: %+v", c)
	}
	r = w.clientsMust(0, "rotate-secret", out.ClientID)
	if !strings.Contains(r.stdout, "client_secret: ") {
		t.Errorf("rotate-secret: got %q", r.stdout)
	}

	// A public client has no secret to rotate: exit 1, nothing printed.
	r = w.clientsMust(1, "rotate-secret", publicID)
	if r.stdout != "" || !strings.Contains(r.stderr, "is public: it has no secret") {
		t.Errorf("rotate-secret of a public client: got %q / %q", r.stdout, r.stderr)
	}

	r = w.clientsMust(0, "remove", out.ClientID)
	if !strings.HasPrefix(r.stdout, "removed client "+out.ClientID+" (Team wiki)") {
		t.Errorf("remove: got %q", r.stdout)
	}
	if _, err := w.storedClient(out.ClientID, ""); err == nil {
		t.Error("the removed client is still served")
	}
	if list := w.clientsMust(0, "list").stdout; strings.Contains(list, out.ClientID) || !strings.Contains(list, publicID) {
		t.Errorf("list after remove:\n%s", list)
	}
	// Removing again, or an ID that never existed: exit 1, no success printed.
	for _, id := range []string{out.ClientID, "no-such-client"} {
		for _, verb := range []string{"remove", "rotate-secret"} {
			r := w.clientsMust(1, verb, id)
			if r.stdout != "" || !strings.Contains(r.stderr, "no client \""+id+"\"") {
				t.Errorf("%s %s: got %q / %q", verb, id, r.stdout, r.stderr)
			}
		}
	}
}

// TestClientsAddRefuses: a client the configuration would refuse is
// refused (exit 2) with the flag named, and nothing is stored.
func TestClientsAddRefuses(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.addUser("alice", canaryPassword, true)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"App"}, "--redirect-uri: required for the authorization_code grant"},
		{[]string{"--redirect-uri", "/cb", "App"}, `--redirect-uri: "/cb" is not an absolute URI`},
		{[]string{"--redirect-uri", "https://app.example.com/cb#frag", "App"}, "has a fragment"},
		{[]string{"--redirect-uri", "http://app.example.com/cb", "App"}, "http is allowed only on a loopback address"},
		{[]string{"--redirect-uri", "javascript:alert(1)", "App"}, `scheme "javascript"`},
		{[]string{"--redirect-uri", "https://*.example.com/cb", "App"}, "has a wildcard"},
		{[]string{"--redirect-uri", "https://app.example.com/cb", "--post-logout-uri", "https://evil.example/#x", "App"}, "--post-logout-uri: "},
		{[]string{"--redirect-uri", "https://app.example.com/cb", "--backchannel-logout-uri", "http://app.example.com/bc", "App"}, "--backchannel-logout-uri: "},
		{[]string{"--public", "--grant", "client_credentials", "App"}, "--grant: client_credentials is for a confidential client"},
		{[]string{"--grant", "password", "App"}, `--grant: "password": want`},
		{[]string{"--redirect-uri", "https://app.example.com/cb", "--resource", "https://api.example.com", "App"}, `--resource: "https://api.example.com" is not one of the deployment's resources`},
		{[]string{"--redirect-uri", "https://app.example.com/cb", "--id-token-alg", "none", "App"}, `--id-token-alg: "none"`},
		{[]string{"--redirect-uri", "https://app.example.com/cb", "--auth-method", "none", "App"}, "--auth-method: none is for a public client"},
		{[]string{"--redirect-uri", "https://app.example.com/cb", "--auth-method", "private_key_jwt", "App"}, "--jwks-file: auth_method private_key_jwt needs jwks_file"},
		{[]string{"--redirect-uri", "https://app.example.com/cb", "--scope", "a\"b", "App"}, "--scope: "},
		{[]string{"--redirect-uri", "https://app.example.com/cb"}, "want exactly one NAME"},
		{[]string{"--redirect-uri", "https://app.example.com/cb", " "}, "NAME must not be empty"},
	}
	for _, tc := range cases {
		r := w.clientsRun("add", tc.args...)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("clients add %q: got exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	// A JWKS file that cannot be read: exit 1.
	r := w.clientsRun("add", "--redirect-uri", "https://app.example.com/cb", "--jwks-file", filepath.Join(t.TempDir(), "none.jwks"), "App")
	if r.code != 1 || !strings.Contains(r.stderr, "--jwks-file: ") || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("missing jwks file: got %d %q", r.code, r.stderr)
	}
	// An ID-token algorithm the deployment has no key for.
	algs := filepath.Join(t.TempDir(), "algs.yaml")
	if err := os.WriteFile(algs, []byte("signing_algs: [RS256]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = w.clientsRun("add", "--config", algs, "--redirect-uri", "https://app.example.com/cb", "--id-token-alg", "ES256", "App")
	if r.code != 2 || !strings.Contains(r.stderr, "--id-token-alg: the deployment has no ES256 signing key") {
		t.Errorf("id-token-alg without a key: got %d %q", r.code, r.stderr)
	}
	if list := w.clientsMust(0, "list", "--json").stdout; strings.TrimSpace(list) != "[]" {
		t.Errorf("a refused client was stored:\n%s", list)
	}
	// No database: refused, none created.
	other := filepath.Join(t.TempDir(), "typo.db")
	r = w.run("", "clients", "add", "--db", other, "--redirect-uri", "https://app.example.com/cb", "App")
	if r.code != 1 || !strings.Contains(r.stderr, "no Sesame database") {
		t.Errorf("no database: got %d %q", r.code, r.stderr)
	}
	if _, err := os.Stat(other); err == nil {
		t.Error("clients add created a database")
	}
}

// TestClientsConfigured: a client of the configuration file is listed as
// such, and remove and rotate-secret refuse it (exit 1) without changing
// anything; a --resource the file registers is accepted.
func TestClientsConfigured(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.addUser("alice", canaryPassword, true)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "sesame.yaml")
	text := "resources: [https://api.example.com]\nclients:\n  - id: wiki\n    name: Wiki\n    secret_file: /nonexistent/wiki.secret\n    redirect_uris: [https://wiki.example.com/cb]\n    backchannel_logout_uri: https://wiki.example.com/bc\n"
	if err := os.WriteFile(cfgFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	r := w.clientsMust(0, "add", "--config", cfgFile, "--redirect-uri", "https://app.example.com/cb", "--resource", "https://api.example.com", "--json", "App")
	var out secretOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	w.secret(hashForms(out.ClientSecret)...)
	list := w.clientsMust(0, "list", "--config", cfgFile).stdout
	for _, want := range []string{"wiki", "Wiki", "config", "https://wiki.example.com/bc", out.ClientID, "db"} {
		if !strings.Contains(list, want) {
			t.Errorf("list: want %q in\n%s", want, list)
		}
	}
	var listed []clientOut
	if err := json.Unmarshal([]byte(w.clientsMust(0, "list", "--config", cfgFile, "--json").stdout), &listed); err != nil || len(listed) != 2 ||
		listed[0].ClientID != "wiki" || !listed[0].Configured || listed[1].Configured {
		t.Errorf("list --json: %v %+v", err, listed)
	}
	for _, verb := range []string{"remove", "rotate-secret"} {
		r := w.clientsMust(1, verb, "--config", cfgFile, "wiki")
		if r.stdout != "" || !strings.Contains(r.stderr, "client wiki is in the configuration file") {
			t.Errorf("%s wiki: got %q / %q", verb, r.stdout, r.stderr)
		}
	}
	if c, err := w.storedClient("wiki", cfgFile); err != nil || !c.FromConfig {
		t.Errorf("wiki after refused changes: %v %+v", err, c)
	}
}

// TestClientsUsage: unknown verbs and missing IDs are usage errors.
func TestClientsUsage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if r := w.run("", "clients", "frobnicate"); r.code != 2 {
		t.Errorf("unknown verb: got %d", r.code)
	}
	if r := w.run("", "clients"); r.code != 2 || !strings.Contains(r.stderr, "rotate-secret") {
		t.Errorf("no verb: got %d %q", r.code, r.stderr)
	}
	for _, verb := range []string{"remove", "rotate-secret"} {
		if r := w.clientsRun(verb); r.code != 2 || !strings.Contains(r.stderr, "want exactly one client ID") {
			t.Errorf("%s without ID: got %d %q", verb, r.code, r.stderr)
		}
	}
	if r := w.clientsRun("list", "extra"); r.code != 2 {
		t.Errorf("list extra: got %d", r.code)
	}
}

// TestConfigCheckShowsClients: config check lists each configured client
// on its own row with its line, where its secret comes from, never the
// secret nor its hash; a bad client fails the check naming its line.
func TestConfigCheckShowsClients(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	dir := t.TempDir()
	const secret = "canary-config-check-client-secret-42424242"
	w.secret(append(hashForms(secret), secret)...)
	if err := os.WriteFile(filepath.Join(dir, "wiki.secret"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "sesame.yaml")
	text := "db: " + w.db + "\nclients:\n  - id: wiki\n    secret_file: wiki.secret\n    redirect_uris: [https://wiki.example.com/cb]\n  - id: other\n    secret_sha256: " + hashForms(secret)[0] + "\n    redirect_uris: [https://other.example.com/cb]\n"
	if err := os.WriteFile(cfgFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	r := w.run("", "config", "check", "--config", cfgFile)
	if r.code != 0 {
		t.Fatalf("config check: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"clients[0]", "id=wiki type=confidential secret=\"from secret_file " + filepath.Join(dir, "wiki.secret") + "\"", "file " + cfgFile + ":3", "clients[1]", "[REDACTED]", "file " + cfgFile + ":6"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("config check: want %q in\n%s", want, r.stdout)
		}
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("clients:\n  - id: x\n    public: true\n    redirect_uris: [\"https://x.example.com/cb#f\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = w.run("", "config", "check", "--config", bad)
	if r.code != 1 || !strings.Contains(r.stderr, bad+":4: clients[0].redirect_uris: \"https://x.example.com/cb#f\" has a fragment") {
		t.Errorf("config check of a bad client: exit %d: %s", r.code, r.stderr)
	}
}

// TestClientsReachRunningServer: a running server serves a client the
// command registered, at once (the server reads the database), and stops
// serving it once removed: the command acts on the whole deployment.
func TestClientsReachRunningServer(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.addUser("alice", canaryPassword, true)
	srv := w.serve()
	c := w.client(srv.url)
	r := w.clientsMust(0, "add", "--public", "--redirect-uri", "http://127.0.0.1:9/cb", "--json", "Phone")
	var out secretOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	authorize := "/oauth2/authorize?response_type=code&scope=openid&state=s1&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb" +
		"&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&client_id="
	resp, body := c.do("GET", authorize+out.ClientID, "", nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, "/login?") {
		t.Fatalf("authorize for the added client: got %d Location %q: %s", resp.StatusCode, loc, body)
	}
	w.clientsMust(0, "remove", out.ClientID)
	resp, _ = c.do("GET", authorize+out.ClientID, "", nil)
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
		t.Errorf("authorize for the removed client: got %d Location %q, want the 400 error page", resp.StatusCode, resp.Header.Get("Location"))
	}
}
