package main

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/oauth"
)

func init() {
	register("clients", "register, list and remove OAuth 2 / OpenID Connect clients", runClients)
}

func runClients(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "clients", map[string]subcommand{
		"add":           {"register a client: sesame clients add [--public] --redirect-uri URI ... NAME", clientsAdd},
		"list":          {"list clients (configured and registered), without secrets: sesame clients list [--json]", clientsList},
		"remove":        {"delete a registered client, its consents and pending logout notices: sesame clients remove ID", clientsRemove},
		"rotate-secret": {"give a confidential client a new secret, printed once: sesame clients rotate-secret ID", clientsRotateSecret},
	}, args)
}

// multiFlag is a flag that may be repeated; with split, each value is
// also split at commas (grants, scopes and resources hold none).
type multiFlag struct {
	vals  []string
	split bool
}

func (m *multiFlag) String() string { return strings.Join(m.vals, ",") }

func (m *multiFlag) Set(s string) error {
	if m.split {
		m.vals = append(m.vals, splitList(s)...)
	} else {
		m.vals = append(m.vals, strings.TrimSpace(s))
	}
	return nil
}

// clientFlags maps a field of a client (as config names it) to the flag of
// `clients add` that sets it.
var clientFlags = map[string]string{
	"id": "the generated ID", "name": "NAME", "public": "--public", "secret_file": "--public", "secret_sha256": "--public",
	"auth_method": "--auth-method", "jwks_file": "--jwks-file", "redirect_uris": "--redirect-uri",
	"post_logout_redirect_uris": "--post-logout-uri", "backchannel_logout_uri": "--backchannel-logout-uri",
	"grant_types": "--grant", "scopes": "--scope", "resources": "--resource", "first_party": "--first-party",
	"id_token_alg": "--id-token-alg",
}

// secretOut is what `clients add --json` and `clients rotate-secret
// --json` print.
type secretOut struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
}

func clientsAdd(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "clients add", "sesame clients add [--public] [--first-party] --redirect-uri URI [--redirect-uri URI2] [--post-logout-uri U] [--backchannel-logout-uri U] [--grant G] [--scope S] [--resource R] [--auth-method M] [--jwks-file F] [--id-token-alg RS256|ES256] [--json] [--config FILE] [--db DB] NAME", `
Registers an OAuth 2 / OpenID Connect client in the deployment's database
(every node serves it at once) and prints its client ID and, for a
confidential client, its secret: once, since Sesame keeps only its hash.
NAME is shown on the consent page. The client is checked as a client of the
configuration file is (key clients): redirect URIs are exact, absolute,
without fragment, https (http only on a loopback address). With --json the
output is {"client_id":"...","client_secret":"..."}.`)
	var redirects, postLogout multiFlag
	grants, scopes, resources := multiFlag{split: true}, multiFlag{split: true}, multiFlag{split: true}
	fs.Var(&redirects, "redirect-uri", "a redirect URI, matched exactly (repeat for more)")
	public := fs.Bool("public", false, "a public client (a single-page or native app): no secret, PKCE S256 required")
	firstParty := fs.Bool("first-party", false, "skip the consent page")
	fs.Var(&postLogout, "post-logout-uri", "a post_logout_redirect_uri for RP-initiated logout (repeat for more)")
	backchannel := fs.String("backchannel-logout-uri", "", "where logout tokens are POSTed when a session the client got tokens for ends")
	fs.Var(&grants, "grant", "an allowed grant type: authorization_code, refresh_token, client_credentials (repeat or comma-separate; default authorization_code,refresh_token)")
	fs.Var(&scopes, "scope", "an allowed scope (repeat or comma-separate; default openid profile email groups offline_access)")
	fs.Var(&resources, "resource", "an allowed resource, one of the configuration's resources (repeat or comma-separate; default all)")
	authMethod := fs.String("auth-method", "", "client_secret_basic (default), client_secret_post or private_key_jwt (with --jwks-file)")
	jwksFile := fs.String("jwks-file", "", "the client's public JWK Set, for private_key_jwt (implies --auth-method private_key_jwt)")
	alg := fs.String("id-token-alg", "", "the ID tokens' algorithm: RS256 (default) or ES256")
	asJSON := fs.Bool("json", false, `print {"client_id":...,"client_secret":...}`)
	d := addDeployFlags(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	name, err := oneName(fs, "clients add")
	if err != nil {
		return err
	}
	cfg, err := d.load()
	if err != nil {
		return err
	}
	cc := config.Client{ID: oauth.NewClientID(), Name: strings.TrimSpace(name), Public: *public, AuthMethod: *authMethod,
		JWKSFile: *jwksFile, RedirectURIs: redirects.vals, PostLogoutRedirectURIs: postLogout.vals,
		BackchannelLogoutURI: *backchannel, GrantTypes: grants.vals, Scopes: scopes.vals, Resources: resources.vals,
		FirstParty: *firstParty, IDTokenAlg: *alg}
	if cc.JWKSFile != "" && cc.AuthMethod == "" && !cc.Public {
		cc.AuthMethod = oauth.AuthPrivateKeyJWT
	}
	var secret string
	var hash []byte
	if !cc.Public && cc.AuthMethod != oauth.AuthPrivateKeyJWT && cc.AuthMethod != oauth.AuthNone {
		secret, hash = oauth.NewSecret()
		cc.SecretSHA256 = hex.EncodeToString(hash)
	}
	if cc.Name == "" {
		return usageError("clients add: NAME must not be empty")
	}
	if ps := config.CheckClient(&cc, cfg.Resources); len(ps) > 0 {
		lines := make([]string, len(ps))
		for i, p := range ps {
			lines[i] = clientFlags[p.Field] + ": " + p.Msg
		}
		return usageError("clients add: %s", strings.Join(lines, "\n  "))
	}
	if alg := cmp.Or(cc.IDTokenAlg, "RS256"); len(cfg.SigningAlgs) > 0 && !slices.Contains(cfg.SigningAlgs, alg) {
		return usageError("clients add: --id-token-alg: the deployment has no %s signing key (signing_algs is %s)", alg, strings.Join(cfg.SigningAlgs, ","))
	}
	jwks, err := cc.ReadJWKS()
	if err != nil {
		return failure("clients add: --jwks-file: %v", err)
	}
	a, store, err := openClients(ctx, env, d)
	if err != nil {
		return err
	}
	defer a.Close()
	c := &oauth.Client{ID: cc.ID, Name: cc.Name, Public: cc.Public, SecretHash: hash, AuthMethod: cc.AuthMethod, JWKS: jwks,
		RedirectURIs: cc.RedirectURIs, PostLogoutRedirectURIs: cc.PostLogoutRedirectURIs, BackchannelLogoutURI: cc.BackchannelLogoutURI,
		GrantTypes: cc.GrantTypes, Scopes: cc.Scopes, Resources: cc.Resources, FirstParty: cc.FirstParty,
		IDTokenAlg: jose.Algorithm(cc.IDTokenAlg), CreatedAt: a.Clock().Now().UTC()}
	if a.Clients().Configured(c.ID) {
		return failure("clients add: the generated ID %s is a configured client's: run the command again", c.ID)
	}
	if err := store.CreateClient(ctx, c); err != nil {
		return failure("clients add: %s", safeMessage(err))
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(secretOut{ClientID: c.ID, ClientSecret: secret})
	}
	kind := "confidential"
	if c.Public {
		kind = "public"
	}
	printf(env.Stdout, "created %s client %q\nclient_id:     %s\n", kind, c.Name, c.ID)
	if secret != "" {
		printf(env.Stdout, "client_secret: %s\n", secret)
		printf(env.Stderr, "The secret is shown only now: Sesame keeps only its hash. If it is lost, run sesame clients rotate-secret %s.\n", c.ID)
	}
	return nil
}

// openClients opens the deployment and its OAuth store (the durable
// database: what a command changes there, every node sees).
func openClients(ctx context.Context, env *Env, d *deployFlags) (*app.App, oauth.Store, error) {
	a, err := d.open(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	return a, a.OAuthStore(), nil
}

// clientOut is one client of `clients list --json`: never a secret or its
// hash.
type clientOut struct {
	ClientID               string    `json:"client_id"`
	Name                   string    `json:"name"`
	Public                 bool      `json:"public"`
	AuthMethod             string    `json:"auth_method"`
	FirstParty             bool      `json:"first_party"`
	Configured             bool      `json:"configured"`
	RedirectURIs           []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris"`
	BackchannelLogoutURI   string    `json:"backchannel_logout_uri,omitempty"`
	GrantTypes             []string  `json:"grant_types"`
	Scopes                 []string  `json:"scopes"`
	Resources              []string  `json:"resources"`
	IDTokenAlg             string    `json:"id_token_alg"`
	CreatedAt              time.Time `json:"created_at,omitzero"`
}

func clientsList(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "clients list", "sesame clients list [--json] [--config FILE] [--db DB]",
		"Lists every OAuth client: those of the configuration file (SOURCE config) and those registered with sesame clients add (SOURCE db). Secrets and their hashes are never shown.")
	asJSON := fs.Bool("json", false, "print a JSON array")
	d := addDeployFlags(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("clients list takes no arguments, got %q", fs.Arg(0))
	}
	a, _, err := openClients(ctx, env, d)
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.Clients().List(ctx)
	if err != nil {
		return failure("list clients: %s", safeMessage(err))
	}
	if *asJSON {
		out := make([]clientOut, 0, len(list))
		for _, c := range list {
			out = append(out, clientOut{ClientID: c.ID, Name: c.Name, Public: c.Public, AuthMethod: c.AuthMethod,
				FirstParty: c.FirstParty, Configured: c.FromConfig, RedirectURIs: nonNil(c.RedirectURIs),
				PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs), BackchannelLogoutURI: c.BackchannelLogoutURI,
				GrantTypes: nonNil(c.GrantTypes), Scopes: nonNil(c.Scopes), Resources: nonNil(c.Resources),
				IDTokenAlg: string(c.IDTokenAlg), CreatedAt: c.CreatedAt})
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tFIRST-PARTY\tSOURCE\tREDIRECT URIS\tBACK-CHANNEL LOGOUT")
	for _, c := range list {
		kind, source, first, bc := "confidential", "db", "no", c.BackchannelLogoutURI
		if c.Public {
			kind = "public"
		}
		if c.FromConfig {
			source = "config"
		}
		if c.FirstParty {
			first = "yes"
		}
		if bc == "" {
			bc = "-"
		}
		uris := strings.Join(c.RedirectURIs, ",")
		if uris == "" {
			uris = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, oneLineName(c.Name), kind, first, source, uris, bc)
	}
	return tw.Flush()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// oneLineName keeps a name on its table row.
func oneLineName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// storedClient opens the deployment and reads the stored client named by
// the one ID argument, refusing a configured or unknown one.
func storedClient(ctx context.Context, env *Env, fs *flag.FlagSet, d *deployFlags, args []string, verb string) (*app.App, oauth.Store, *oauth.Client, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, nil, nil, err
	}
	if fs.NArg() != 1 {
		return nil, nil, nil, usageError("clients %s: want exactly one client ID, got %d arguments (flags go before ID)", verb, fs.NArg())
	}
	id := fs.Arg(0)
	a, store, err := openClients(ctx, env, d)
	if err != nil {
		return nil, nil, nil, err
	}
	if a.Clients().Configured(id) {
		a.Close()
		return nil, nil, nil, failure("clients %s: client %s is in the configuration file (key clients): change it there and restart the nodes", verb, id)
	}
	c, err := store.Client(ctx, id)
	if errors.Is(err, sesame.ErrNotFound) {
		a.Close()
		return nil, nil, nil, failure("clients %s: no client %q (see sesame clients list)", verb, truncateRunes(id, 140))
	}
	if err != nil {
		a.Close()
		return nil, nil, nil, failure("clients %s: %s", verb, safeMessage(err))
	}
	return a, store, c, nil
}

func clientsRemove(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "clients remove", "sesame clients remove [--config FILE] [--db DB] ID",
		"Deletes a client registered with sesame clients add, with the consents users gave it and its pending back-channel logout notices. Its codes and refresh tokens stop working at once (the client is unknown); access tokens already issued to it live until they expire. A client of the configuration file is refused: remove it from the file.")
	d := addDeployFlags(fs, false)
	a, store, c, err := storedClient(ctx, env, fs, d, args, "remove")
	if err != nil {
		return err
	}
	defer a.Close()
	if err := store.DeleteClient(ctx, c.ID); err != nil {
		return failure("clients remove: %s", safeMessage(err))
	}
	printf(env.Stdout, "removed client %s (%s) with its consents and pending logout notices\n", c.ID, oneLineName(c.Name))
	return nil
}

func clientsRotateSecret(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "clients rotate-secret", "sesame clients rotate-secret [--json] [--config FILE] [--db DB] ID",
		"Gives a confidential client registered with sesame clients add a new secret and prints it once; the old secret stops working at once. Public clients (no secret), private_key_jwt clients (keys, no secret) and clients of the configuration file (change secret_file there) are refused.")
	asJSON := fs.Bool("json", false, `print {"client_id":...,"client_secret":...}`)
	d := addDeployFlags(fs, false)
	a, store, c, err := storedClient(ctx, env, fs, d, args, "rotate-secret")
	if err != nil {
		return err
	}
	defer a.Close()
	switch method := c.WithDefaults().AuthMethod; {
	case c.Public:
		return failure("clients rotate-secret: client %s is public: it has no secret", c.ID)
	case method != oauth.AuthClientSecretBasic && method != oauth.AuthClientSecretPost:
		return failure("clients rotate-secret: client %s authenticates with %s: it has no secret", c.ID, method)
	}
	secret, hash := oauth.NewSecret()
	c.SecretHash = hash
	if err := store.UpdateClient(ctx, c); err != nil {
		return failure("clients rotate-secret: %s", safeMessage(err))
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(secretOut{ClientID: c.ID, ClientSecret: secret})
	}
	printf(env.Stdout, "new secret for client %s (%s); the old one no longer works\nclient_id:     %s\nclient_secret: %s\n", c.ID, oneLineName(c.Name), c.ID, secret)
	printf(env.Stderr, "The secret is shown only now: Sesame keeps only its hash.\n")
	return nil
}
