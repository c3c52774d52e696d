package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
)

// Client authentication methods (RFC 8414 token_endpoint_auth_methods).
const (
	AuthNone              = "none" // a public client: PKCE S256 is its proof
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthPrivateKeyJWT     = "private_key_jwt"
)

// Grant types.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Client is one registered relying party.
type Client struct {
	ID   string
	Name string // shown on the consent page

	// Public is a client that cannot keep a secret (a SPA, a native
	// app): it authenticates with "none" and must use PKCE S256.
	Public bool
	// SecretHash is the SHA-256 of the client secret (confidential
	// clients using client_secret_basic or client_secret_post). The
	// secret is 256 random bits made by [NewSecret], so a fast hash
	// suffices: there is nothing to guess.
	SecretHash []byte
	// AuthMethod is how the client authenticates at the token,
	// revocation and introspection endpoints: one of the Auth constants.
	// Default client_secret_basic (confidential) or none (public).
	AuthMethod string
	// JWKS is the client's public key set (JSON), for private_key_jwt.
	JWKS []byte

	RedirectURIs           []string // matched exactly (SEC-58)
	PostLogoutRedirectURIs []string // matched exactly
	BackchannelLogoutURI   string   // "" for none
	// GrantTypes the client may use. Default authorization_code and
	// refresh_token.
	GrantTypes []string
	// Scopes the client may ask for. Default openid profile email groups
	// offline_access.
	Scopes []string
	// Resources (RFC 8707) the client may ask tokens for, from the
	// deployment's registered resources. Default: every registered one.
	Resources []string
	// FirstParty clients skip the consent page.
	FirstParty bool
	// IDTokenAlg signs the client's ID tokens. Default RS256 (OpenID
	// Connect Core §15.1).
	IDTokenAlg jose.Algorithm

	CreatedAt time.Time
	// FromConfig marks a client registered in the configuration file: it
	// is not stored, and the clients commands cannot change it.
	FromConfig bool
}

// DefaultScopes are the scopes a client may ask for unless it lists its
// own.
var DefaultScopes = []string{"openid", "profile", "email", "groups", "offline_access"}

// WithDefaults returns a copy of c with the defaults of the empty fields
// filled in.
func (c *Client) WithDefaults() *Client {
	d := c.Clone()
	if d.AuthMethod == "" {
		d.AuthMethod = AuthClientSecretBasic
		if d.Public {
			d.AuthMethod = AuthNone
		}
	}
	if len(d.GrantTypes) == 0 {
		d.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
	}
	if len(d.Scopes) == 0 {
		d.Scopes = slices.Clone(DefaultScopes)
	}
	if d.IDTokenAlg == "" {
		d.IDTokenAlg = jose.RS256
	}
	return d
}

// Clone returns a deep copy of c.
func (c *Client) Clone() *Client {
	d := *c
	d.SecretHash = slices.Clone(c.SecretHash)
	d.JWKS = slices.Clone(c.JWKS)
	d.RedirectURIs = slices.Clone(c.RedirectURIs)
	d.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	d.GrantTypes = slices.Clone(c.GrantTypes)
	d.Scopes = slices.Clone(c.Scopes)
	d.Resources = slices.Clone(c.Resources)
	return &d
}

// AllowsGrant reports whether the client may use the grant type.
func (c *Client) AllowsGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }

// HasRedirectURI reports whether uri is one of the client's redirect URIs,
// compared as exact strings (SEC-58; RFC 9700 §2.1): no prefix, no
// case folding, no port or path leniency.
func (c *Client) HasRedirectURI(uri string) bool { return slices.Contains(c.RedirectURIs, uri) }

// HasPostLogoutRedirectURI is the same for post_logout_redirect_uri.
func (c *Client) HasPostLogoutRedirectURI(uri string) bool {
	return slices.Contains(c.PostLogoutRedirectURIs, uri)
}

// CheckSecret reports whether secret is the client's, in constant time.
func (c *Client) CheckSecret(secret string) bool {
	if len(c.SecretHash) != sha256.Size || secret == "" {
		return false
	}
	h := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(h[:], c.SecretHash) == 1
}

// NewSecret returns a new client secret (256 random bits, base64url) and
// its hash for [Client.SecretHash].
func NewSecret() (secret string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(secret))
	return secret, h[:]
}

// HashSecret returns the SHA-256 of a secret, for a client registered in
// the configuration with its secret.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// NewClientID returns a new random client ID.
func NewClientID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Registry finds clients: those of the configuration first, then those of
// the store. It is safe for concurrent use.
type Registry struct {
	static map[string]*Client
	store  Store
}

// NewRegistry returns a registry of the configured clients (FromConfig is
// set on each) and those in store (which may be nil).
func NewRegistry(configured []*Client, store Store) (*Registry, error) {
	r := &Registry{static: map[string]*Client{}, store: store}
	for _, c := range configured {
		if c.ID == "" {
			return nil, errors.New("oauth: a configured client has no id")
		}
		if _, dup := r.static[c.ID]; dup {
			return nil, errors.New("oauth: client " + c.ID + " is configured twice")
		}
		d := c.WithDefaults()
		d.FromConfig = true
		r.static[c.ID] = d
	}
	return r, nil
}

// Client returns the client with the ID, defaults filled in; an unknown
// ID is sesame.ErrNotFound.
func (r *Registry) Client(ctx context.Context, id string) (*Client, error) {
	if c, ok := r.static[id]; ok {
		return c.Clone(), nil
	}
	if r.store == nil || id == "" {
		return nil, sesame.ErrNotFound
	}
	c, err := r.store.Client(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.WithDefaults(), nil
}

// List returns every client, configured ones first, each group by ID.
func (r *Registry) List(ctx context.Context) ([]*Client, error) {
	var out []*Client
	for _, c := range r.static {
		out = append(out, c.Clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if r.store == nil {
		return out, nil
	}
	stored, err := r.store.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range stored {
		if _, shadowed := r.static[c.ID]; !shadowed {
			out = append(out, c.WithDefaults())
		}
	}
	return out, nil
}

// Configured reports whether the ID is a client of the configuration.
func (r *Registry) Configured(id string) bool { _, ok := r.static[id]; return ok }
