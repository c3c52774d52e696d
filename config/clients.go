package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sesame-auth/sesame/jose"
)

// clients is the second structured key: the OAuth 2 / OpenID Connect
// clients registered in the configuration, a list of maps read from the
// file only, like access_rules. Clients registered with `sesame clients
// add` live in the database instead; both are served alike.

// Client is one OAuth 2 client (relying party) as written in the
// configuration file (key clients) or given to `sesame clients add`. Its
// secret is never held: SecretFile names a file holding it (read by
// [Client.ReadSecretHash]) or SecretSHA256 is its hash.
type Client struct {
	ID   string
	Name string // shown on the consent page; default the ID
	// Public is a client that cannot keep a secret (a single-page or
	// native app): no secret, auth_method none, PKCE S256 required.
	Public bool
	// SecretFile is a file whose first line is the client secret (at least
	// 32 characters), read when the server starts.
	SecretFile string
	// SecretSHA256 is the hex SHA-256 of the client secret, for a secret
	// kept elsewhere (`printf %s "$SECRET" | sha256sum`).
	SecretSHA256 string
	// AuthMethod: client_secret_basic (default for a confidential client),
	// client_secret_post, private_key_jwt (with JWKSFile), or none (public).
	AuthMethod string
	// JWKSFile is a file holding the client's public JWK Set, for
	// private_key_jwt.
	JWKSFile string

	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	BackchannelLogoutURI   string
	GrantTypes             []string // default authorization_code, refresh_token
	Scopes                 []string // default openid profile email groups offline_access
	Resources              []string // RFC 8707; each one of the deployment's resources
	FirstParty             bool     // skips the consent page
	IDTokenAlg             string   // RS256 (default) or ES256
}

// Client authentication methods, grant types and ID-token algorithms a
// client may name (the same names as package oauth's).
var (
	ClientAuthMethods = []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
	ClientGrantTypes  = []string{"authorization_code", "refresh_token", "client_credentials"}
	ClientIDTokenAlgs = []string{"RS256", "ES256"}
)

// clientFields are the fields of one client, in the order config init
// writes them.
var clientFields = []string{"id", "name", "public", "secret_file", "secret_sha256", "auth_method", "jwks_file",
	"redirect_uris", "post_logout_redirect_uris", "backchannel_logout_uri", "grant_types", "scopes", "resources",
	"first_party", "id_token_alg"}

// MinClientSecret is the shortest client secret a secret_file may hold:
// secrets are hashed with a fast hash (SHA-256), which is sound only for
// random secrets of 256 bits or so (`openssl rand -base64 32`).
const MinClientSecret = 32

// ReservedClientID is the client_id of Sesame's own first-party tokens;
// no registered client may take it.
const ReservedClientID = "sesame"

// ClientProblem is one thing wrong with a client: the field (as in the
// file: "redirect_uris") and what is wrong. It never holds a secret.
type ClientProblem struct {
	Field string
	Msg   string
}

// CheckClient checks a client's fields, without reading its files, against
// the deployment's registered resources, and returns every problem. `sesame
// clients add` checks the clients it registers with it, so that a client
// is valid in the database exactly when it would be in the file.
func CheckClient(cl *Client, resources []string) []ClientProblem {
	var out []ClientProblem
	add := func(field, format string, a ...any) {
		out = append(out, ClientProblem{Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	switch {
	case cl.ID == "":
		add("id", "required: the client_id the application sends (letters, digits and . _ ~ -)")
	case len(cl.ID) > 128 || !isClientID(cl.ID):
		add("id", "%q: want 1 to 128 letters, digits and . _ ~ -", truncateText(cl.ID, 140))
	case cl.ID == ReservedClientID:
		add("id", "%q is the client_id of Sesame's own tokens: choose another", cl.ID)
	}
	if len(cl.Name) > 100 || strings.IndexFunc(cl.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		add("name", "want at most 100 characters, without control characters")
	}
	hasSecret := cl.SecretFile != "" || cl.SecretSHA256 != ""
	if cl.SecretFile != "" && cl.SecretSHA256 != "" {
		add("secret_sha256", "both secret_file and secret_sha256 are set: keep one")
	}
	if cl.SecretSHA256 != "" {
		if b, err := hex.DecodeString(cl.SecretSHA256); err != nil || len(b) != 32 {
			add("secret_sha256", "want the SHA-256 of the secret in hex (64 characters)")
		}
	}
	method := cl.AuthMethod
	if method != "" && !slices.Contains(ClientAuthMethods, method) {
		add("auth_method", "%q: want %s", truncateText(method, 64), strings.Join(ClientAuthMethods, ", "))
		method = "?"
	}
	if cl.Public {
		if hasSecret {
			field := "secret_file"
			if cl.SecretFile == "" {
				field = "secret_sha256"
			}
			add(field, "a public client has no secret: remove %s, or set public: false for a client that can keep one", field)
		}
		if method != "" && method != "none" && method != "?" {
			add("auth_method", "a public client authenticates with none (PKCE S256), not %s", method)
		}
		if cl.JWKSFile != "" {
			add("jwks_file", "a public client has no keys: remove jwks_file, or set public: false and auth_method: private_key_jwt")
		}
		if slices.Contains(cl.GrantTypes, "client_credentials") {
			add("grant_types", "client_credentials is for a confidential client: a public client cannot authenticate")
		}
	} else {
		switch method {
		case "none":
			add("auth_method", "none is for a public client: set public: true (a confidential client authenticates)")
		case "private_key_jwt":
			if cl.JWKSFile == "" {
				add("jwks_file", "auth_method private_key_jwt needs jwks_file, the client's public JWK Set")
			}
			if hasSecret {
				add("auth_method", "a private_key_jwt client has no secret: remove secret_file / secret_sha256")
			}
		case "", "client_secret_basic", "client_secret_post":
			if !hasSecret {
				add("secret_file", "a confidential client needs a secret: secret_file (a file holding it) or secret_sha256 (its hash); or public: true for a client that cannot keep one")
			}
			if cl.JWKSFile != "" {
				add("jwks_file", "jwks_file is for auth_method private_key_jwt")
			}
		}
	}
	grants := cl.GrantTypes
	for _, g := range grants {
		if !slices.Contains(ClientGrantTypes, g) {
			add("grant_types", "%q: want %s", truncateText(g, 64), strings.Join(ClientGrantTypes, ", "))
		}
	}
	if len(grants) == 0 {
		grants = []string{"authorization_code", "refresh_token"}
	}
	if slices.Contains(grants, "refresh_token") && !slices.Contains(grants, "authorization_code") {
		add("grant_types", "refresh_token needs authorization_code (refresh tokens come only from a code exchange)")
	}
	if slices.Contains(grants, "authorization_code") && len(cl.RedirectURIs) == 0 {
		add("redirect_uris", "required for the authorization_code grant: the exact URIs the application's callback is reached at")
	}
	checkURIs := func(field string, uris []string) {
		seen := map[string]bool{}
		for _, u := range uris {
			if err := CheckRedirectURI(u); err != nil {
				add(field, "%v", err)
			} else if seen[u] {
				add(field, "%q is listed twice", u)
			}
			seen[u] = true
		}
	}
	checkURIs("redirect_uris", cl.RedirectURIs)
	checkURIs("post_logout_redirect_uris", cl.PostLogoutRedirectURIs)
	if u := cl.BackchannelLogoutURI; u != "" {
		if err := checkWebURI(u, "back-channel logout URI"); err != nil {
			add("backchannel_logout_uri", "%v", err)
		}
	}
	for _, s := range cl.Scopes {
		if !isScopeToken(s) {
			add("scopes", "%q: want a scope name (printable ASCII without space, \" or \\, at most 64 characters)", truncateText(s, 64))
		}
	}
	for _, r := range cl.Resources {
		if !slices.Contains(resources, r) {
			add("resources", "%q is not one of the deployment's resources (key resources)", truncateText(r, 200))
		}
	}
	if a := cl.IDTokenAlg; a != "" && !slices.Contains(ClientIDTokenAlgs, a) {
		add("id_token_alg", "%q: want %s", truncateText(a, 16), strings.Join(ClientIDTokenAlgs, " or "))
	}
	return out
}

// CheckRedirectURI checks a redirect URI (or post-logout redirect URI):
// absolute, without fragment or user-info, https; http only on a loopback
// address (RFC 8252 §7.3); or a native app's private-use scheme with a dot
// (com.example.app:/callback, RFC 8252 §7.1). It is compared exactly, so a
// wildcard is refused rather than never matching.
func CheckRedirectURI(s string) error {
	q := truncateText(s, 200)
	if s == "" || len(s) > 2000 || strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r > 0x7e }) >= 0 {
		return fmt.Errorf("%q: want a URI of at most 2000 printable ASCII characters, without spaces", q)
	}
	if strings.Contains(s, "#") {
		return fmt.Errorf("%q has a fragment (#...): a redirect URI must not (RFC 6749 §3.1.2)", q)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("%q is not an absolute URI: want https://app.example.com/callback", q)
	}
	if u.User != nil {
		return fmt.Errorf("%q has user-info (user@): not allowed", q)
	}
	if strings.Contains(s, "*") {
		return fmt.Errorf("%q has a wildcard: redirect URIs are matched exactly, list each one", q)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", q)
		}
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return fmt.Errorf("%q: http is allowed only on a loopback address (http://127.0.0.1:PORT/..., http://[::1]:PORT/..., http://localhost:PORT/...): use https", q)
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("%q: scheme %q: want https, http on a loopback address, or a native app's private-use scheme in reverse-domain form (com.example.app:/callback)", q, u.Scheme)
		}
	}
	return nil
}

// checkWebURI checks an absolute http(s) URI the server itself requests
// (a back-channel logout URI): https, or http on a loopback address;
// without fragment or user-info.
func checkWebURI(s, what string) error {
	q := truncateText(s, 200)
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || len(s) > 2000:
		return fmt.Errorf("%q: want an absolute https URL as the %s", q, what)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Errorf("%q has a fragment (#...): a %s must not", q, what)
	case u.User != nil:
		return fmt.Errorf("%q has user-info (user@): not allowed", q)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%q: http is allowed only on a loopback address: use https", q)
	}
	return fmt.Errorf("%q: want an https URL as the %s", q, what)
}

// CheckResource checks an RFC 8707 resource indicator: an absolute http or
// https URI without fragment (§2) or query.
func CheckResource(s string) error {
	q := truncateText(s, 200)
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || len(s) > 2000 || strings.ContainsAny(s, " \t\r\n"):
		return fmt.Errorf("%q: want an absolute URI such as https://api.example.com", q)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%q: want an https:// (or http://) URI", q)
	case strings.Contains(s, "#"):
		return fmt.Errorf("%q has a fragment (#...): a resource must not (RFC 8707 §2)", q)
	case u.RawQuery != "" || strings.Contains(s, "?"):
		return fmt.Errorf("%q has a query: write the resource without one (RFC 8707 §2)", q)
	case u.User != nil:
		return fmt.Errorf("%q has user-info (user@): not allowed", q)
	}
	return nil
}

// isLoopbackHost reports whether a URL's host name is a loopback address
// or localhost.
func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// isClientID accepts the unreserved URI characters (RFC 3986 §2.3), so
// that an ID needs no escaping in a URL or in HTTP Basic authentication.
func isClientID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return s != ""
}

// isScopeToken reports whether s is an RFC 6749 §3.3 scope-token (of at
// most 64 characters).
func isScopeToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return false
		}
	}
	return true
}

func truncateText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// ReadSecretHash returns the SHA-256 of the client's secret: read from
// SecretFile (its first line, at least [MinClientSecret] characters) or
// decoded from SecretSHA256. A public or private_key_jwt client has none
// (nil, nil). Errors name the file, never its content.
func (cl *Client) ReadSecretHash() ([]byte, error) {
	if cl.SecretSHA256 != "" {
		b, err := hex.DecodeString(cl.SecretSHA256)
		if err != nil || len(b) != 32 {
			return nil, errors.New("secret_sha256: want the SHA-256 of the secret in hex (64 characters)")
		}
		return b, nil
	}
	if cl.SecretFile == "" {
		return nil, nil
	}
	b, err := readSmall(cl.SecretFile)
	if err != nil {
		return nil, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	secret := strings.TrimSpace(line)
	if len(secret) < MinClientSecret {
		return nil, fmt.Errorf("%s: the secret on its first line is shorter than %d characters: write a random one (openssl rand -base64 32)", cl.SecretFile, MinClientSecret)
	}
	h := sha256.Sum256([]byte(secret))
	return h[:], nil
}

// ReadJWKS returns the client's public JWK Set from JWKSFile (nil, nil
// when none), checked: it parses, holds at least one key, no private or
// symmetric key.
func (cl *Client) ReadJWKS() ([]byte, error) {
	if cl.JWKSFile == "" {
		return nil, nil
	}
	b, err := readSmall(cl.JWKSFile)
	if err != nil {
		return nil, err
	}
	set, err := jose.ParseJWKS(b)
	if err != nil {
		return nil, fmt.Errorf("%s: not a JWK Set: %s", cl.JWKSFile, strings.TrimPrefix(err.Error(), "jose: "))
	}
	if set.Len() == 0 {
		return nil, fmt.Errorf("%s: the JWK Set has no key", cl.JWKSFile)
	}
	for _, k := range set.Keys() {
		if k.IsSymmetric() || k.CanSign() {
			return nil, fmt.Errorf("%s: holds a private or symmetric key: give the client's public keys only", cl.JWKSFile)
		}
	}
	return b, nil
}

// String is the client in one line for `config check`: its fields, the
// secret only as where it comes from (never the secret nor its hash).
func (cl *Client) String() string {
	var b strings.Builder
	add := func(k, v string) {
		if v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if strings.ContainsAny(v, " \"") {
			v = strconv.Quote(v)
		}
		b.WriteString(k + "=" + v)
	}
	add("id", cl.ID)
	add("name", cl.Name)
	if cl.Public {
		add("type", "public")
	} else {
		add("type", "confidential")
	}
	add("auth_method", cl.AuthMethod)
	switch {
	case cl.SecretFile != "":
		add("secret", "from secret_file "+cl.SecretFile)
	case cl.SecretSHA256 != "":
		add("secret", "by secret_sha256 "+redacted)
	}
	add("jwks_file", cl.JWKSFile)
	add("redirect_uris", strings.Join(cl.RedirectURIs, ","))
	add("post_logout_redirect_uris", strings.Join(cl.PostLogoutRedirectURIs, ","))
	add("backchannel_logout_uri", cl.BackchannelLogoutURI)
	add("grant_types", strings.Join(cl.GrantTypes, ","))
	add("scopes", strings.Join(cl.Scopes, ","))
	add("resources", strings.Join(cl.Resources, ","))
	if cl.FirstParty {
		add("first_party", "true")
	}
	add("id_token_alg", cl.IDTokenAlg)
	return b.String()
}

// clone returns a deep copy of cl.
func (cl Client) clone() Client {
	cl.RedirectURIs = slices.Clone(cl.RedirectURIs)
	cl.PostLogoutRedirectURIs = slices.Clone(cl.PostLogoutRedirectURIs)
	cl.GrantTypes = slices.Clone(cl.GrantTypes)
	cl.Scopes = slices.Clone(cl.Scopes)
	cl.Resources = slices.Clone(cl.Resources)
	return cl
}

// clientsFromYAML reads the value of clients: a YAML list of maps, or null
// for none. Relative file paths are resolved against dir.
func clientsFromYAML(path, dir string, n *yaml.Node, lookup func(string) (string, bool), ps *Problems) ([]Client, []ruleLines) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		ps.addf(fmt.Sprintf("%s:%d: clients", path, n.Line), false,
			"wrong type: want a list of clients, each a mapping such as {id: wiki, redirect_uris: [https://wiki.example.com/callback], secret_file: wiki.secret}")
		return nil, nil
	}
	clients := make([]Client, 0, len(n.Content))
	lines := make([]ruleLines, 0, len(n.Content))
	for i, item := range n.Content {
		var cl Client
		cll := ruleLines{file: path, line: item.Line, fields: map[string]int{}, bad: map[string]bool{}}
		if item.Kind != yaml.MappingNode {
			cll.bad[""] = true
			ps.addf(fmt.Sprintf("%s:%d: clients[%d]", path, item.Line, i), false,
				"wrong type: want a mapping of %s", strings.Join(clientFields, ", "))
			clients, lines = append(clients, cl), append(lines, cll)
			continue
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			kn, vn := item.Content[j], item.Content[j+1]
			field := kn.Value
			at := fmt.Sprintf("%s:%d: clients[%d].%s", path, kn.Line, i, field)
			if kn.Kind != yaml.ScalarNode {
				ps.addf(fmt.Sprintf("%s:%d: clients[%d]", path, kn.Line, i), false, "a field must be a plain name")
				continue
			}
			if line, dup := cll.fields[field]; dup {
				ps.addf(at, false, "duplicate field (first set on line %d)", line)
				continue
			}
			if !slices.Contains(clientFields, field) {
				ps.addf(at, false, "unknown field%s", suggestFrom(field, clientFields))
				continue
			}
			cll.fields[field] = kn.Line
			var err error
			str := func(dst *string) { *dst, err = ruleString(vn, lookup) }
			lst := func(dst *[]string) { *dst, err = ruleList(vn, lookup) }
			switch field {
			case "id":
				str(&cl.ID)
			case "name":
				str(&cl.Name)
			case "public":
				cl.Public, err = ruleBool(vn)
			case "secret_file":
				str(&cl.SecretFile)
				if err == nil && cl.SecretFile != "" && !filepath.IsAbs(cl.SecretFile) {
					cl.SecretFile = filepath.Join(dir, cl.SecretFile)
				}
			case "secret_sha256":
				str(&cl.SecretSHA256)
				cl.SecretSHA256 = strings.ToLower(strings.TrimSpace(cl.SecretSHA256))
			case "auth_method":
				str(&cl.AuthMethod)
			case "jwks_file":
				str(&cl.JWKSFile)
				if err == nil && cl.JWKSFile != "" && !filepath.IsAbs(cl.JWKSFile) {
					cl.JWKSFile = filepath.Join(dir, cl.JWKSFile)
				}
			case "redirect_uris":
				cl.RedirectURIs, err = uriList(vn, lookup)
			case "post_logout_redirect_uris":
				cl.PostLogoutRedirectURIs, err = uriList(vn, lookup)
			case "backchannel_logout_uri":
				str(&cl.BackchannelLogoutURI)
			case "grant_types":
				lst(&cl.GrantTypes)
			case "scopes":
				cl.Scopes, err = scopeList(vn, lookup)
			case "resources":
				cl.Resources, err = uriList(vn, lookup)
			case "first_party":
				cl.FirstParty, err = ruleBool(vn)
			case "id_token_alg":
				str(&cl.IDTokenAlg)
			}
			if err != nil {
				ps.addf(at, false, "%v", err)
				cll.bad[field] = true
			}
		}
		clients, lines = append(clients, cl), append(lines, cll)
	}
	return clients, lines
}

// uriList reads a list of URIs: a YAML list, or one URI (a URI may hold a
// comma, so text is not split).
func uriList(n *yaml.Node, lookup func(string) (string, bool)) ([]string, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		s, err := expandEnv(n.Value, lookup)
		return []string{strings.TrimSpace(s)}, err
	}
	return ruleList(n, lookup)
}

// scopeList reads scopes: a YAML list, or text separated by spaces or
// commas ("openid profile", as OAuth writes them).
func scopeList(n *yaml.Node, lookup func(string) (string, bool)) ([]string, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		s, err := expandEnv(n.Value, lookup)
		return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }), err
	}
	return ruleList(n, lookup)
}

// suggestFrom proposes the field of fields a misspelt name probably meant.
func suggestFrom(name string, fields []string) string {
	best, bestD := "", 3
	for _, f := range fields {
		if d := distance(strings.ToLower(name), f); d < bestD {
			best, bestD = f, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return " (want " + strings.Join(fields, ", ") + ")"
}

// clientAt names client i's field (or the client) for a problem, with the
// file and line when the client was read from a file.
func (c *Config) clientAt(i int, field string) string {
	name := fmt.Sprintf("clients[%d]", i)
	if field != "" {
		name += "." + field
	}
	if i >= len(c.clientLines) || c.clientLines[i].file == "" {
		return name
	}
	cl := c.clientLines[i]
	line := cl.line
	if l, ok := cl.fields[field]; ok {
		line = l
	}
	return fmt.Sprintf("%s:%d: %s", cl.file, line, name)
}

// checkOAuth checks resources and clients; a server (RoleServe) also reads
// every client's secret_file and jwks_file.
func (c *Config) checkOAuth(role Role, ps *Problems) {
	issuer := c.EffectiveIssuer()
	seenRes := map[string]bool{}
	for _, r := range c.Resources {
		if err := CheckResource(r); err != nil {
			c.problem(ps, "resources", "%v", err)
		} else if issuer != "" && (strings.TrimSuffix(r, "/") == issuer || strings.HasPrefix(r, issuer+"/oauth2/")) {
			c.problem(ps, "resources", "%q is Sesame's own API: a token for it would open Sesame's endpoints to an OAuth client; name the application's API instead", r)
		} else if seenRes[r] {
			c.problem(ps, "resources", "%q is listed twice", r)
		}
		seenRes[r] = true
	}
	ids := map[string]int{}
	for i := range c.Clients {
		cl := &c.Clients[i]
		bad := func(field string) bool {
			return i < len(c.clientLines) && (c.clientLines[i].bad[""] || c.clientLines[i].bad[field])
		}
		if bad("") || bad("public") {
			continue // what else is wrong depends on what it could not read
		}
		for _, p := range CheckClient(cl, c.Resources) {
			if !bad(p.Field) {
				ps.add(Problem{Where: c.clientAt(i, p.Field), Msg: p.Msg})
			}
		}
		if cl.ID != "" {
			if j, dup := ids[cl.ID]; dup {
				ps.add(Problem{Where: c.clientAt(i, "id"), Msg: fmt.Sprintf("%q is already the id of %s", cl.ID, c.clientAt(j, ""))})
			}
			ids[cl.ID] = i
		}
		if role != RoleServe {
			continue // an admin's machine need not hold the nodes' secret files
		}
		if cl.SecretFile != "" && !bad("secret_file") {
			if _, err := cl.ReadSecretHash(); err != nil {
				ps.add(Problem{Where: c.clientAt(i, "secret_file"), Msg: err.Error()})
			}
		}
		if cl.JWKSFile != "" && !bad("jwks_file") {
			if _, err := cl.ReadJWKS(); err != nil {
				ps.add(Problem{Where: c.clientAt(i, "jwks_file"), Msg: err.Error()})
			}
		}
	}
}

// clientsText is the compact form of clients for Settings: how many.
func clientsText(clients []Client) string {
	switch len(clients) {
	case 0:
		return ""
	case 1:
		return "1 client"
	}
	return fmt.Sprintf("%d clients", len(clients))
}

// clientSettings are the rows of Settings for the clients, one per
// client: key "clients[i]", value the client in one line (no secret, no
// hash), source its line.
func (c *Config) clientSettings() []Setting {
	out := make([]Setting, 0, len(c.Clients))
	for i := range c.Clients {
		src := c.Source("clients")
		if i < len(c.clientLines) && c.clientLines[i].file != "" {
			src = Source{Kind: FromFile, Where: fmt.Sprintf("%s:%d", c.clientLines[i].file, c.clientLines[i].line)}
		}
		out = append(out, Setting{Key: fmt.Sprintf("clients[%d]", i), Value: c.Redact(c.Clients[i].String()), Source: src})
	}
	return out
}

// clientsExample is the commented example config init writes for
// clients, before the settable "# clients: []" line.
const clientsExample = `## For example:
##   clients:
##     - id: wiki                       # the client_id
##       name: Team wiki                # shown on the consent page
##       secret_file: wiki.secret       # first line: the secret (openssl rand -base64 32 > wiki.secret)
##       redirect_uris: [https://wiki.example.com/oauth2/callback]
##       post_logout_redirect_uris: [https://wiki.example.com/]
##       backchannel_logout_uri: https://wiki.example.com/oauth2/backchannel
##       first_party: true              # no consent page
##     - id: dashboard
##       public: true                   # a single-page app: no secret, PKCE S256
##       redirect_uris: [https://dash.example.com/callback]
##       scopes: [openid, profile, email]
##       resources: [https://api.example.com]
##     - id: billing-worker
##       secret_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
##       grant_types: [client_credentials]
##       resources: [https://api.example.com]
# clients: []
`
