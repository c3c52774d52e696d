package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/jose"
)

// A client secret planted as a canary: neither it nor its hash may appear
// in any text this package writes.
const canaryClientSecret = "canary-client-secret-0123456789abcdef-tangerine"

func canaryHash() string {
	h := sha256.Sum256([]byte(canaryClientSecret))
	return hex.EncodeToString(h[:])
}

// TestClientsFromFile: clients are read in order with every field, file
// paths relative to the file, lists as YAML lists or text; Settings shows
// the count and one row per client with its line, and never the secret nor
// its hash.
func TestClientsFromFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wiki.secret"), []byte(canaryClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sesame.yaml")
	text := `public_url: https://auth.example.com
resources: [https://api.example.com, https://billing.example.com]
clients:
  - id: wiki
    name: Team wiki
    secret_file: wiki.secret
    redirect_uris: [https://wiki.example.com/cb, "http://127.0.0.1:8400/cb"]
    post_logout_redirect_uris: https://wiki.example.com/
    backchannel_logout_uri: https://wiki.example.com/bc
    first_party: true
    id_token_alg: ES256
  - id: dash
    public: true
    redirect_uris: [com.example.dash:/callback]
    scopes: openid profile
    resources: [https://api.example.com]
  - id: worker
    secret_sha256: ` + canaryHash() + `
    auth_method: client_secret_post
    grant_types: [client_credentials]
    resources: [https://billing.example.com]
`
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustLoad(t, env{}, file)
	want := []Client{
		{ID: "wiki", Name: "Team wiki", SecretFile: filepath.Join(dir, "wiki.secret"),
			RedirectURIs: []string{"https://wiki.example.com/cb", "http://127.0.0.1:8400/cb"}, PostLogoutRedirectURIs: []string{"https://wiki.example.com/"},
			BackchannelLogoutURI: "https://wiki.example.com/bc", FirstParty: true, IDTokenAlg: "ES256"},
		{ID: "dash", Public: true, RedirectURIs: []string{"com.example.dash:/callback"}, Scopes: []string{"openid", "profile"}, Resources: []string{"https://api.example.com"}},
		{ID: "worker", SecretSHA256: canaryHash(), AuthMethod: "client_secret_post", GrantTypes: []string{"client_credentials"}, Resources: []string{"https://billing.example.com"}},
	}
	if !reflect.DeepEqual(c.Clients, want) {
		t.Fatalf("got clients\n%+v\nwant\n%+v", c.Clients, want)
	}
	if !c.OIDC || !reflect.DeepEqual(c.Resources, []string{"https://api.example.com", "https://billing.example.com"}) {
		t.Errorf("got oidc %v resources %v", c.OIDC, c.Resources)
	}
	h, err := c.Clients[0].ReadSecretHash()
	if want := sha256.Sum256([]byte(canaryClientSecret)); err != nil || string(h) != string(want[:]) {
		t.Errorf("wiki's secret hash: got %x, %v", h, err)
	}
	if h, err := c.Clients[2].ReadSecretHash(); err != nil || hex.EncodeToString(h) != canaryHash() {
		t.Errorf("worker's secret hash: got %x, %v", h, err)
	}
	if h, err := c.Clients[1].ReadSecretHash(); h != nil || err != nil {
		t.Errorf("a public client's secret hash: got %x, %v, want none", h, err)
	}
	rows := map[string]Setting{}
	var all strings.Builder
	for _, s := range c.Settings() {
		rows[s.Key] = s
		fmt.Fprintf(&all, "%s %s %s\n", s.Key, s.Value, s.Source)
	}
	if s := rows["clients"]; s.Value != "3 clients" || s.Source.String() != "file "+file+":3" {
		t.Errorf("clients row: got %q from %s", s.Value, s.Source)
	}
	for i, line := range []int{4, 12, 17} {
		s := rows[fmt.Sprintf("clients[%d]", i)]
		if s.Source.String() != fmt.Sprintf("file %s:%d", file, line) || !strings.HasPrefix(s.Value, "id="+want[i].ID+" ") {
			t.Errorf("clients[%d] row: got %q from %s", i, s.Value, s.Source)
		}
	}
	for _, w := range []string{"secret=\"from secret_file " + filepath.Join(dir, "wiki.secret") + "\"", "type=public", "first_party=true", "redirect_uris=https://wiki.example.com/cb,http://127.0.0.1:8400/cb", "secret=\"by secret_sha256 [REDACTED]\""} {
		if !strings.Contains(all.String(), w) {
			t.Errorf("settings: want %q in\n%s", w, all.String())
		}
	}
	for _, secret := range []string{canaryClientSecret, canaryHash()} {
		if strings.Contains(all.String(), secret) || strings.Contains(c.String(), secret) || strings.Contains(fmt.Sprintf("%+v %#v", c, c), secret) {
			t.Errorf("a setting shows the secret or its hash %q", secret)
		}
	}
	d := c.Clone()
	d.Clients[0].RedirectURIs[0] = "https://evil.example/"
	d.Resources[0] = "https://evil.example/"
	if c.Clients[0].RedirectURIs[0] != "https://wiki.example.com/cb" || c.Resources[0] != "https://api.example.com" {
		t.Error("Clone shares the clients' or resources' slices")
	}
	if c := mustLoad(t, env{}, ""); c.Clients != nil || !c.OIDC || c.Resources != nil {
		t.Errorf("default: got clients %v, oidc %v, resources %v; want none, true, none", c.Clients, c.OIDC, c.Resources)
	}
}

// TestClientsProblems: every problem names the file, the line and the
// client's field, all are listed at once, and none quotes a secret.
func TestClientsProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("good.secret", canaryClientSecret)
	write("short.secret", "tooshort\n")
	priv, err := jose.GenerateKey(jose.ES256, "k1")
	if err != nil {
		t.Fatal(err)
	}
	set, _ := jose.NewKeySet(priv)
	privJWKS, _ := set.MarshalPrivateJWKS()
	pubJWKS, _ := set.MarshalJSON()
	write("priv.jwks", string(privJWKS))
	write("pub.jwks", string(pubJWKS))
	write("junk.jwks", "{\"keys\": 5}")
	const head = "public_url: https://auth.example.com\nresources: [https://api.example.com]\nclients:\n"
	cases := []struct {
		name string
		text string // after head; the first client starts on line 4
		want []string
	}{
		{"public with a secret", "  - id: a\n    public: true\n    secret_file: good.secret\n    redirect_uris: [https://a.example.com/cb]\n",
			[]string{`:6: clients\[0\]\.secret_file: a public client has no secret`}},
		{"confidential without a secret", "  - id: a\n    redirect_uris: [https://a.example.com/cb]\n",
			[]string{`:4: clients\[0\]\.secret_file: a confidential client needs a secret`}},
		{"relative redirect URI", "  - id: a\n    public: true\n    redirect_uris: [/callback]\n",
			[]string{`:6: clients\[0\]\.redirect_uris: "/callback" is not an absolute URI`}},
		{"fragment", "  - id: a\n    public: true\n    redirect_uris: [\"https://a.example.com/cb#x\"]\n",
			[]string{`:6: clients\[0\]\.redirect_uris: "https://a.example.com/cb#x" has a fragment`}},
		{"http not loopback", "  - id: a\n    public: true\n    redirect_uris: [http://a.example.com/cb]\n",
			[]string{`:6: clients\[0\]\.redirect_uris: "http://a.example.com/cb": http is allowed only on a loopback address`}},
		{"javascript scheme", "  - id: a\n    public: true\n    redirect_uris: [\"javascript:alert(1)\"]\n",
			[]string{`:6: clients\[0\]\.redirect_uris: "javascript:alert\(1\)": scheme "javascript"`}},
		{"wildcard", "  - id: a\n    public: true\n    redirect_uris: [\"https://*.example.com/cb\"]\n",
			[]string{`:6: clients\[0\]\.redirect_uris: .* has a wildcard`}},
		{"open post-logout redirect", "  - id: a\n    public: true\n    redirect_uris: [https://a.example.com/cb]\n    post_logout_redirect_uris: [http://evil.example/]\n",
			[]string{`:7: clients\[0\]\.post_logout_redirect_uris: "http://evil.example/": http is allowed only on a loopback`}},
		{"back-channel over http", "  - id: a\n    public: true\n    redirect_uris: [https://a.example.com/cb]\n    backchannel_logout_uri: http://a.example.com/bc\n",
			[]string{`:7: clients\[0\]\.backchannel_logout_uri: "http://a.example.com/bc": http is allowed only on a loopback`}},
		{"unknown field", "  - id: a\n    public: true\n    redirect_uri: [https://a.example.com/cb]\n",
			[]string{`:6: clients\[0\]\.redirect_uri: unknown field \(did you mean redirect_uris\?\)`, `:4: clients\[0\]\.redirect_uris: required`}},
		{"duplicate id", "  - id: a\n    public: true\n    redirect_uris: [https://a.example.com/cb]\n  - id: a\n    public: true\n    redirect_uris: [https://b.example.com/cb]\n",
			[]string{`:7: clients\[1\]\.id: "a" is already the id of .*:4: clients\[0\]`}},
		{"reserved id", "  - id: sesame\n    public: true\n    redirect_uris: [https://a.example.com/cb]\n",
			[]string{`:4: clients\[0\]\.id: "sesame" is the client_id of Sesame's own tokens`}},
		{"bad id", "  - id: \"a b\"\n    public: true\n    redirect_uris: [https://a.example.com/cb]\n",
			[]string{`:4: clients\[0\]\.id: "a b": want 1 to 128 letters`}},
		{"unregistered resource", "  - id: a\n    public: true\n    redirect_uris: [https://a.example.com/cb]\n    resources: [https://billing.example.com]\n",
			[]string{`:7: clients\[0\]\.resources: "https://billing.example.com" is not one of the deployment's resources`}},
		{"public client_credentials", "  - id: a\n    public: true\n    grant_types: [client_credentials]\n",
			[]string{`:6: clients\[0\]\.grant_types: client_credentials is for a confidential client`}},
		{"refresh without code", "  - id: a\n    secret_file: good.secret\n    grant_types: [refresh_token]\n",
			[]string{`:6: clients\[0\]\.grant_types: refresh_token needs authorization_code`}},
		{"unknown grant", "  - id: a\n    secret_file: good.secret\n    grant_types: [password]\n",
			[]string{`:6: clients\[0\]\.grant_types: "password": want`}},
		{"bad hash", "  - id: a\n    secret_sha256: abc\n    redirect_uris: [https://a.example.com/cb]\n",
			[]string{`:5: clients\[0\]\.secret_sha256: want the SHA-256 of the secret in hex`}},
		{"both secrets", "  - id: a\n    secret_file: good.secret\n    secret_sha256: " + canaryHash() + "\n    redirect_uris: [https://a.example.com/cb]\n",
			[]string{`:6: clients\[0\]\.secret_sha256: both secret_file and secret_sha256 are set`}},
		{"missing secret file", "  - id: a\n    secret_file: nope.secret\n    redirect_uris: [https://a.example.com/cb]\n",
			[]string{`:5: clients\[0\]\.secret_file: .*nope.secret does not exist`}},
		{"short secret", "  - id: a\n    secret_file: short.secret\n    redirect_uris: [https://a.example.com/cb]\n",
			[]string{`:5: clients\[0\]\.secret_file: .*short.secret: the secret on its first line is shorter than 32 characters`}},
		{"auth none confidential", "  - id: a\n    auth_method: none\n    redirect_uris: [https://a.example.com/cb]\n",
			[]string{`:5: clients\[0\]\.auth_method: none is for a public client`}},
		{"private_key_jwt without keys", "  - id: a\n    auth_method: private_key_jwt\n    redirect_uris: [https://a.example.com/cb]\n",
			[]string{`:4: clients\[0\]\.jwks_file: auth_method private_key_jwt needs jwks_file`}},
		{"private key in jwks", "  - id: a\n    auth_method: private_key_jwt\n    jwks_file: priv.jwks\n    redirect_uris: [https://a.example.com/cb]\n",
			[]string{`:6: clients\[0\]\.jwks_file: .*priv.jwks: holds a private or symmetric key`}},
		{"junk jwks", "  - id: a\n    auth_method: private_key_jwt\n    jwks_file: junk.jwks\n    redirect_uris: [https://a.example.com/cb]\n",
			[]string{`:6: clients\[0\]\.jwks_file: .*junk.jwks: not a JWK Set`}},
		{"bad alg", "  - id: a\n    public: true\n    redirect_uris: [https://a.example.com/cb]\n    id_token_alg: HS256\n",
			[]string{`:7: clients\[0\]\.id_token_alg: "HS256": want RS256 or ES256`}},
		{"wrong type", "  - id: a\n    public: \"yes\"\n    redirect_uris: [https://a.example.com/cb]\n    secret_file: good.secret\n",
			[]string{`:5: clients\[0\]\.public: wrong type: want true or false`}},
		{"item not a map", "  - wiki\n", []string{`:4: clients\[0\]: wrong type: want a mapping`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := write("c.yaml", head+tc.text)
			_, err := load(t, env{}, file)
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Fatalf("got %v, want *Problems", err)
			}
			if len(ps.List) != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(ps.List), len(tc.want), err)
			}
			for _, w := range tc.want {
				re := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(file) + w)
				found := false
				for _, p := range ps.List {
					found = found || re.MatchString(p.String())
				}
				if !found {
					t.Errorf("got problems:\n%v\nwant one matching %s%s", err, file, w)
				}
			}
			if strings.Contains(err.Error(), canaryClientSecret) || strings.Contains(err.Error(), canaryHash()) {
				t.Errorf("a problem quotes the secret or its hash:\n%v", err)
			}
		})
	}
	// A private_key_jwt client with public keys is fine.
	mustLoad(t, env{}, write("ok.yaml", head+"  - id: a\n    auth_method: private_key_jwt\n    jwks_file: pub.jwks\n    redirect_uris: [https://a.example.com/cb]\n"))
}

// TestResourcesProblems: a resource is an absolute URI without fragment
// or query, and never Sesame's own issuer (a token for it would open
// Sesame's API to an OAuth client).
func TestResourcesProblems(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"api.example.com", `want an absolute URI`},
		{"ftp://api.example.com", `want an https:// \(or http://\) URI`},
		{"https://api.example.com/#x", `has a fragment`},
		{"https://api.example.com/?v=1", `has a query`},
		{"https://auth.example.com", `is Sesame's own API`},
		{"https://auth.example.com/", `is Sesame's own API`},
		{"https://auth.example.com/oauth2/userinfo", `is Sesame's own API`},
	} {
		_, err := load(t, env{}, "", "--public-url", "https://auth.example.com", "--resources", tc.value)
		if err == nil || !regexp.MustCompile(`--resources: .*`+tc.want).MatchString(err.Error()) {
			t.Errorf("resources %q: got %v, want %s", tc.value, err, tc.want)
		}
	}
	c := mustLoad(t, env{}, "", "--public-url", "https://auth.example.com", "--resources", "https://api.example.com,https://auth.example.com/api")
	if len(c.Resources) != 2 {
		t.Errorf("got %v", c.Resources)
	}
}

// TestClientsCommandRoleReadsNoSecretFile: a command's configuration
// (an admin's machine) does not need the nodes' secret files.
func TestClientsCommandRoleReadsNoSecretFile(t *testing.T) {
	file := writeFile(t, "c.yaml", "clients:\n  - id: a\n    secret_file: /nonexistent/a.secret\n    redirect_uris: [https://a.example.com/cb]\n")
	if _, err := Load(Sources{File: file, LookupEnv: env{}.lookup, Role: RoleCommand}); err != nil {
		t.Errorf("command role: %v", err)
	}
	if _, err := Load(Sources{File: file, LookupEnv: env{}.lookup, Role: RoleServe}); err == nil || !strings.Contains(err.Error(), "a.secret does not exist") {
		t.Errorf("serve role: got %v, want the missing secret file", err)
	}
}

// TestClientsFileOnly: clients has no flag and its environment variable
// is refused.
func TestClientsFileOnly(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	AddFlags(fs)
	if fs.Lookup("clients") != nil {
		t.Error("got a --clients flag, want none")
	}
	_, err := load(t, env{"SESAME_CLIENTS": "x"}, "")
	if err == nil || !strings.Contains(err.Error(), "SESAME_CLIENTS: clients is read from the configuration file only") {
		t.Errorf("got %v, want SESAME_CLIENTS refused", err)
	}
}

// TestStarterClientsExample: the example config init writes for clients,
// uncommented (with the resource it names), loads.
func TestStarterClientsExample(t *testing.T) {
	text, err := Starter("")
	if err != nil {
		t.Fatal(err)
	}
	s := string(text)
	start := strings.Index(s, "##   clients:\n")
	end := strings.Index(s, "# clients: []\n")
	if start < 0 || end < start {
		t.Fatalf("no clients example in:\n%s", s)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wiki.secret"), []byte(canaryClientSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	example := "resources: [https://api.example.com]\n" + regexp.MustCompile(`(?m)^## {3}`).ReplaceAllString(s[start:end], "")
	file := filepath.Join(dir, "example.yaml")
	if err := os.WriteFile(file, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustLoad(t, env{}, file)
	if len(c.Clients) != 3 {
		t.Errorf("got %d clients from the example, want 3:\n%s", len(c.Clients), example)
	}
}

// TestCheckClientDirect: the checks `sesame clients add` uses, without a
// file.
func TestCheckClientDirect(t *testing.T) {
	ok := &Client{ID: "x", Public: true, RedirectURIs: []string{"http://[::1]:9000/cb", "http://localhost/cb"}}
	if ps := CheckClient(ok, nil); len(ps) != 0 {
		t.Errorf("got %v", ps)
	}
	bad := &Client{ID: "x", SecretSHA256: canaryHash(), Public: true, RedirectURIs: []string{"https://a.example.com/cb", "https://a.example.com/cb"}}
	ps := CheckClient(bad, nil)
	got := fmt.Sprint(ps)
	if len(ps) != 2 || !strings.Contains(got, "secret_sha256 a public client has no secret") || !strings.Contains(got, "is listed twice") {
		t.Errorf("got %v", ps)
	}
	if strings.Contains(got, canaryHash()) {
		t.Error("a problem quotes the hash")
	}
}
