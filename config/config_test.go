package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Canary secrets: none may appear in any text this package writes.
const (
	canaryDBPassword    = "canary-db-pw-51c0ffee"
	canaryRedisPassword = "canary-redis-pw-7e11a"
	canaryMasterKey     = "Y2FuYXJ5LW1hc3Rlci1rZXktMzItYnl0ZXMtbG9uZyE=" // base64 of 32 bytes
)

// env is a fake environment.
type env map[string]string

func (e env) lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

// load parses args as a serve command line and loads the configuration.
func load(t *testing.T, e env, file string, args ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	flags := AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(Sources{Flags: flags, LookupEnv: e.lookup, File: file})
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, e env, file string, args ...string) *Config {
	t.Helper()
	c, err := load(t, e, file, args...)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return c
}

// TestDefaultIsTheQuickStart: with nothing configured, serve runs as it
// always did: loopback 8080, ./sesame.db, the session defaults.
func TestDefaultIsTheQuickStart(t *testing.T) {
	c := mustLoad(t, env{}, "")
	want := map[string]string{"addr": "127.0.0.1:8080", "db": "./sesame.db", "sessions": "", "public_url": "",
		"idle_timeout": "30m", "lifetime": "12h", "remember_idle_timeout": "168h", "remember_lifetime": "720h",
		"renew_grace": "10s", "access_token_ttl": "15m", "tokens": "true", "same_site": "lax", "log_format": "text"}
	got := map[string]Setting{}
	for _, s := range c.Settings() {
		got[s.Key] = s
	}
	for k, v := range want {
		if got[k].Value != v || got[k].Source.Kind != FromDefault {
			t.Errorf("%s: got %q from %s, want %q from default", k, got[k].Value, got[k].Source, v)
		}
	}
	if c.IdleTimeout != 30*time.Minute || !c.RememberMe || c.InsecureCookies {
		t.Errorf("typed defaults: %+v", c)
	}
}

// TestPrecedence: flag > env > file > preset > default, with each value's
// source remembered.
func TestPrecedence(t *testing.T) {
	file := writeFile(t, "sesame.yaml", `
preset: strict
idle_timeout: 5m
lifetime: 2h
access_token_ttl: 7m
log_level: warn
`)
	e := env{"SESAME_LIFETIME": "3h", "SESAME_ACCESS_TOKEN_TTL": "8m"}
	c := mustLoad(t, e, file, "--access-token-ttl", "9m")
	cases := []struct {
		key   string
		got   time.Duration
		want  time.Duration
		kind  SourceKind
		where string
	}{
		{"access_token_ttl", c.AccessTokenTTL, 9 * time.Minute, FromFlag, "--access-token-ttl"},
		{"lifetime", c.Lifetime, 3 * time.Hour, FromEnv, "SESAME_LIFETIME"},
		{"idle_timeout", c.IdleTimeout, 5 * time.Minute, FromFile, file + ":3"},
		{"refresh_grace", c.RefreshGrace, 0, FromPreset, "strict"},
		{"remember_lifetime", c.RememberLifetime, 720 * time.Hour, FromDefault, ""},
	}
	for _, tc := range cases {
		src := c.Source(tc.key)
		if tc.got != tc.want || src.Kind != tc.kind || src.Where != tc.where {
			t.Errorf("%s: got %v from %v, want %v from %v %q", tc.key, tc.got, src, tc.want, tc.kind, tc.where)
		}
	}
	if c.LogLevel != "warn" || c.SameSite != "strict" || c.RememberMe {
		t.Errorf("got log_level %q same_site %q remember_me %v, want warn (file), strict and false (preset)", c.LogLevel, c.SameSite, c.RememberMe)
	}
	// The preset itself follows the same order.
	c = mustLoad(t, env{"SESAME_PRESET": "web"}, file)
	if c.Preset != "web" || c.Tokens || c.SameSite != "lax" {
		t.Errorf("SESAME_PRESET=web over the file's strict: got preset %q tokens %v same_site %q", c.Preset, c.Tokens, c.SameSite)
	}
	c = mustLoad(t, env{"SESAME_PRESET": "web"}, file, "--preset", "api")
	if c.Preset != "api" || !c.Tokens {
		t.Errorf("--preset api over SESAME_PRESET: got preset %q tokens %v", c.Preset, c.Tokens)
	}
	// The file comes from --config, else SESAME_CONFIG.
	c = mustLoad(t, env{"SESAME_CONFIG": file}, "")
	if c.IdleTimeout != 5*time.Minute || c.File != file {
		t.Errorf("SESAME_CONFIG: got idle %v file %q", c.IdleTimeout, c.File)
	}
	other := writeFile(t, "other.yaml", "idle_timeout: 1m\n")
	c = mustLoad(t, env{"SESAME_CONFIG": file}, "", "--config", other)
	if c.IdleTimeout != time.Minute {
		t.Errorf("--config over SESAME_CONFIG: got idle %v, want 1m", c.IdleTimeout)
	}
}

// TestStrictFile: every kind of mistake is reported, all at once, each with
// its key and line.
func TestStrictFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sesame.yaml")
	text := `addr: 127.0.0.1:9000
idle_timout: 10m
lifetime: 10
insecure_cookies: "yes"
public_url: ftp://auth.example.com
tls_cert: ./missing-cert.pem
tls_key: ./missing-key.pem
allowed_origins: https://a.example, https://b.example
addr: 127.0.0.1:9001
trusted_proxies: [10.0.0.0/8, {a: b}]
sessions: memcached://cache:11211
log_level: loud
`
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := load(t, env{}, file)
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got %v, want *Problems", err)
	}
	wants := []string{
		file + ":2: idle_timout: unknown key (did you mean idle_timeout?)",
		file + ":3: lifetime: 10 has no unit: write 10s, 10m or 10h",
		file + `:4: insecure_cookies: wrong type: want true or false, got "yes"`,
		file + `:5: public_url: "ftp://auth.example.com": unsupported scheme "ftp"`,
		file + ":6: tls_cert: " + filepath.Join(dir, "missing-cert.pem") + " does not exist",
		file + ":7: tls_key: " + filepath.Join(dir, "missing-key.pem") + " does not exist",
		file + ":9: addr: duplicate key (first set on line 1)",
		file + ":10: trusted_proxies: line 10: want a list of strings",
		file + `:11: sessions: unsupported scheme "memcached"`,
		file + `:12: log_level: want debug or info or warn or error, got "loud"`,
	}
	msg := err.Error()
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Errorf("problems do not contain %q:\n%s", w, msg)
		}
	}
	if len(ps.List) != len(wants) {
		t.Errorf("got %d problems, want %d:\n%s", len(ps.List), len(wants), msg)
	}
	if ps.Usage() {
		t.Error("problems in a file must not be usage errors (exit 1, not 2)")
	}
	// A comma-separated list is fine in the file too.
	if strings.Contains(msg, "allowed_origins") {
		t.Errorf("allowed_origins as comma-separated text was refused:\n%s", msg)
	}
}

func TestBadInputOutsideTheFile(t *testing.T) {
	cases := []struct {
		name  string
		e     env
		args  []string
		want  string
		usage bool
	}{
		{"flag duration without unit", nil, []string{"--idle-timeout", "10"}, "--idle-timeout: 10 has no unit", true},
		{"env duration", env{"SESAME_LIFETIME": "soon"}, nil, `SESAME_LIFETIME: want a duration such as 90s, 30m or 12h, got "soon"`, false},
		{"env bool", env{"SESAME_INSECURE_COOKIES": "maybe"}, nil, `SESAME_INSECURE_COOKIES: want true or false, got "maybe"`, false},
		{"unknown preset", nil, []string{"--preset", "banking"}, `--preset: unknown preset "banking"`, true},
		{"unsupported database", nil, []string{"--db", "mysql://x"}, "--db: mysql databases are not supported", true},
		{"tls pair", nil, []string{"--tls-cert", "c.pem"}, "go together", true},
		{"plain http on a public address", nil, []string{"--addr", "0.0.0.0:8080"}, "--addr: refusing to serve plain HTTP on 0.0.0.0:8080", true},
		{"public address without public_url", nil, []string{"--addr", "0.0.0.0:8080", "--tls-cert", "/dev/null", "--tls-key", "/dev/null"}, "public_url: required", true},
		{"bad master key", env{"SESAME_MASTER_KEY": "c2hvcnQ="}, nil, "SESAME_MASTER_KEY: want base64 of 32 bytes, got 5 bytes", false},
		{"missing db_file", env{"SESAME_DB_FILE": "/nonexistent/db-url"}, nil, "SESAME_DB_FILE: /nonexistent/db-url does not exist", false},
		{"public url with a path", nil, []string{"--public-url", "https://a.example/auth"}, "without user, path or query", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.e, "", tc.args...)
			var ps *Problems
			if !errors.As(err, &ps) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a problem containing %q", err, tc.want)
			}
			if ps.Usage() != tc.usage {
				t.Errorf("usage: got %v, want %v", ps.Usage(), tc.usage)
			}
		})
	}
}

// TestPresets: each preset sets its documented values, and any key
// overrides it.
func TestPresets(t *testing.T) {
	want := map[string]map[string]string{
		"web":    {"tokens": "false", "idle_timeout": "30m", "same_site": "lax"},
		"spa":    {"tokens": "true", "access_token_ttl": "5m", "same_site": "lax"},
		"api":    {"tokens": "true", "access_token_ttl": "15m", "refresh_lifetime": "2160h"},
		"strict": {"idle_timeout": "10m", "lifetime": "1h", "remember_me": "false", "same_site": "strict", "access_token_ttl": "5m", "refresh_grace": "0s"},
	}
	for name, values := range want {
		t.Run(name, func(t *testing.T) {
			c := mustLoad(t, env{}, "", "--preset", name)
			got := map[string]string{}
			for _, s := range c.Settings() {
				got[s.Key] = s.Value
			}
			for k, v := range values {
				if got[k] != v {
					t.Errorf("%s: got %q, want %q", k, got[k], v)
				}
			}
			if p, _ := PresetNamed(name); p.UseCase == "" {
				t.Error("preset without a documented use case")
			}
		})
	}
	c := mustLoad(t, env{}, "", "--preset", "strict", "--idle-timeout", "20m")
	if c.IdleTimeout != 20*time.Minute || c.Lifetime != time.Hour {
		t.Errorf("strict with --idle-timeout 20m: got idle %v lifetime %v", c.IdleTimeout, c.Lifetime)
	}
}

// TestSecretsStayOut: passwords in URLs (from the file, a ${ENV} reference,
// a *_file, the environment) and the master key never appear in the
// settings or in any problem.
func TestSecretsStayOut(t *testing.T) {
	dbURLFile := writeFile(t, "db-url", "postgres://sesame:"+canaryDBPassword+"@db.internal:5432/sesame\n")
	file := writeFile(t, "sesame.yaml", `
sessions: redis://:${REDIS_PW}@cache.internal:6379/0
db_file: `+dbURLFile+`
`)
	e := env{"REDIS_PW": canaryRedisPassword, "SESAME_MASTER_KEY": canaryMasterKey}
	c := mustLoad(t, e, file)
	if !strings.Contains(c.Sessions, canaryRedisPassword) || !strings.Contains(c.DB, canaryDBPassword) || c.MasterKey.Reveal() != canaryMasterKey {
		t.Fatalf("the secrets did not reach the configuration: %q %q", c.Sessions, c.DB)
	}
	var out strings.Builder
	for _, s := range c.Settings() {
		fmt.Fprintf(&out, "%s = %s (%s)\n", s.Key, s.Value, s.Source)
	}
	fmt.Fprintf(&out, "%v %+v %#v %s", c, c, c, c.MasterKey)
	if !strings.Contains(out.String(), "cache.internal:6379") || !strings.Contains(out.String(), "db.internal") {
		t.Errorf("the settings hide too much:\n%s", out.String())
	}
	// Problems quoting the same values.
	bad := writeFile(t, "bad.yaml", `
sessions: memcached://u:${REDIS_PW}@cache:1
db: mysql://root:`+canaryDBPassword+`@db/x
public_url: https://u:`+canaryDBPassword+`@auth.example.com
`)
	_, err := load(t, e, bad, "--sessions", "memcached://x:"+canaryRedisPassword+"@h")
	if err == nil {
		t.Fatal("bad stores accepted")
	}
	out.WriteString(err.Error())
	_, err = load(t, env{"SESAME_MASTER_KEY": canaryMasterKey + "x"}, "")
	if err == nil {
		t.Fatal("a bad master key was accepted")
	}
	out.WriteString(err.Error())
	for _, canary := range []string{canaryDBPassword, canaryRedisPassword, canaryMasterKey} {
		if strings.Contains(out.String(), canary) {
			t.Errorf("output holds the secret %q:\n%s", canary, out.String())
		}
	}
	if got := c.Redact("dial postgres://sesame:" + canaryDBPassword + "@db: refused"); strings.Contains(got, canaryDBPassword) {
		t.Errorf("Redact left the password: %q", got)
	}
}

func TestEnvReferences(t *testing.T) {
	file := writeFile(t, "sesame.yaml", "public_url: https://${HOST}\nissuer: ${MISSING}\n")
	_, err := load(t, env{"HOST": "auth.example.com"}, file)
	if err == nil || !strings.Contains(err.Error(), file+":2: issuer: references ${MISSING}, which is not set") {
		t.Fatalf("got %v, want the unset reference named with its line", err)
	}
	file = writeFile(t, "ok.yaml", "public_url: https://${HOST}/\n")
	c := mustLoad(t, env{"HOST": "auth.example.com"}, file)
	if c.PublicURL != "https://auth.example.com" || c.EffectiveIssuer() != "https://auth.example.com" {
		t.Errorf("got public_url %q issuer %q", c.PublicURL, c.EffectiveIssuer())
	}
}

// TestRelativePaths: relative paths in a file are relative to the file.
func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), []byte("x"), 0o600)
	file := filepath.Join(dir, "sesame.yaml")
	os.WriteFile(file, []byte("db: data.db\ntls_cert: cert.pem\ntls_key: key.pem\nmaster_key_file: master.key\n"), 0o600)
	c := mustLoad(t, env{}, file)
	if c.DB != filepath.Join(dir, "data.db") || c.TLSCert != filepath.Join(dir, "cert.pem") || c.MasterKeyFile != filepath.Join(dir, "master.key") {
		t.Errorf("got db %q tls_cert %q master_key_file %q, want them in %s", c.DB, c.TLSCert, c.MasterKeyFile, dir)
	}
}

func TestFileShapes(t *testing.T) {
	cases := map[string]string{
		"not a mapping":  "- a\n- b\n",
		"two documents":  "addr: a:1\n---\naddr: b:2\n",
		"alias":          "x: &a 10m\n",
		"invalid yaml":   "addr: [\n",
		"master key set": "master_key: " + canaryMasterKey + "\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, env{}, writeFile(t, "c.yaml", text))
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), canaryMasterKey) {
				t.Fatalf("the error holds the master key: %v", err)
			}
		})
	}
	if _, err := load(t, env{}, writeFile(t, "empty.yaml", "# nothing\n")); err != nil {
		t.Errorf("an empty file: %v", err)
	}
	if _, err := load(t, env{}, filepath.Join(t.TempDir(), "none.yaml")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a missing file: got %v", err)
	}
}

// TestStarterParsesBack: config init's output loads as is, and with every
// key uncommented it loads to the same values.
func TestStarterParsesBack(t *testing.T) {
	uncomment := regexp.MustCompile(`(?m)^# `)
	for _, preset := range []string{"", "web", "spa", "api", "strict"} {
		t.Run("preset="+preset, func(t *testing.T) {
			text, err := Starter(preset)
			if err != nil {
				t.Fatal(err)
			}
			base := mustLoad(t, env{}, writeFile(t, "starter.yaml", string(text)))
			if base.Preset != preset {
				t.Errorf("got preset %q, want %q", base.Preset, preset)
			}
			all := uncomment.ReplaceAllString(string(text), "")
			full := mustLoad(t, env{}, writeFile(t, "full.yaml", all))
			for i, s := range full.Settings() {
				b := base.Settings()[i]
				if s.Value != b.Value && s.Key != "db" && s.Key != "preset" {
					t.Errorf("%s: uncommented %q, want %q", s.Key, s.Value, b.Value)
				}
				if s.Key != "master_key" && s.Key != "preset" && s.Source.Kind != FromFile {
					t.Errorf("%s: source %s, want the file (the starter lists every key)", s.Key, s.Source)
				}
			}
		})
	}
	if _, err := Starter("banking"); err == nil {
		t.Error("an unknown preset was accepted")
	}
}

// TestEveryKeyHasAFlag: the flags are the keys with dashes, and every key
// but master_key has one.
func TestEveryKeyHasAFlag(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	AddFlags(fs)
	for _, k := range Keys() {
		name := strings.TrimPrefix(k.Flag(), "--")
		if (fs.Lookup(name) == nil) != (k.Name == "master_key" || k.FileOnly()) {
			t.Errorf("key %s: flag %s registered: %v", k.Name, name, fs.Lookup(name) != nil)
		}
		if k.Help == "" {
			t.Errorf("key %s has no help", k.Name)
		}
	}
}
