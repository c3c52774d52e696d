package token

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/session"
)

// Keys is where the service finds its signing key and the keys that verify
// its tokens: a *jose.KeySet or a persisted keyring.
type Keys interface {
	SigningKey() *jose.Key
	jose.KeyResolver
}

// MaxAccessTTL bounds the access-token lifetime: revocations stay on the
// session manager's denylist for its DenylistTTL (default 1 h), which must
// outlast every access token.
const MaxAccessTTL = time.Hour

// Config configures a [Service]. Zero values are the defaults in the
// comments; Issuer, Keys, SuccessorKey, Store and Sessions are required.
type Config struct {
	// Issuer is the iss of every access token, e.g. "https://auth.example".
	Issuer string
	// Audience is the aud of issued access tokens and the allow-list when
	// verifying them. Default [Issuer].
	Audience []string
	// AccessTTL is the access-token lifetime. Default 15 minutes; at most
	// MaxAccessTTL and the session manager's DenylistTTL. Never past the
	// session's absolute end.
	AccessTTL time.Duration
	// RefreshIdle is how long an unused refresh token lives. Default 7 days.
	RefreshIdle time.Duration
	// RefreshLifetime is the absolute lifetime of a refresh-token family,
	// never extended by rotation. Default 30 days.
	RefreshLifetime time.Duration
	// Grace is how long after its first use a refresh token still returns
	// its successor pair. Default 10 seconds; negative means none.
	Grace time.Duration
	// DefaultClientID is the client_id of tokens issued without one.
	// Default "sesame".
	DefaultClientID string
	// CacheSize bounds the cache of already-verified access tokens. Default
	// 10000; negative disables it.
	CacheSize int

	// CheckUser, when set, is asked whether the user may still use a
	// session or refresh token created at issued: before a refresh token
	// is redeemed (with the token's creation time) and before a family is
	// issued (with the session's). It returns nil, or an error: one with
	// code EUnauthenticated, EForbidden or ENotFound (the user is blocked,
	// deleted, or the credential predates a block or a password reset)
	// makes the refresh or issue fail with ErrInvalidGrant; any other
	// (the user store is down) fails it with EUnavailable. So blocking is
	// final on the token path whatever the session store was told
	// (SEC-13). account.Service.CheckUser is the implementation to use.
	// Default nil: no user check beyond the session's own liveness.
	CheckUser func(ctx context.Context, userID string, issued time.Time) error

	// Groups, when set, is asked for the user's groups each time an access
	// token is signed (at issue, at each refresh, and for a replay within
	// the grace, which then carries the groups of that moment); they go in
	// the token's groups claim (omitted when the user is in none), so a
	// change shows in the next token issued. An error with code ENotFound
	// (the user is gone) fails the request with ErrInvalidGrant; any other
	// with EUnavailable: no token is signed without the groups it should
	// carry. Default nil: access tokens carry no groups claim (the server
	// sets it when its GroupsClaim is on).
	Groups func(ctx context.Context, userID string) ([]string, error)

	Keys         Keys
	SuccessorKey []byte // at least 32 bytes from a CSPRNG; derives successor refresh tokens
	Store        Store
	Sessions     *session.Manager
	Clock        sesame.Clock     // default the system clock
	Events       sesame.EventSink // default none
	Logger       *slog.Logger     // default slog.Default()
}

// Service issues, rotates, verifies and revokes tokens. It is safe for
// concurrent use.
type Service struct {
	cfg      Config
	verifier *jose.Verifier
	cache    claimsCache // tokens Authenticate accepted (aud ∩ Config.Audience, with sid)
	vcache   claimsCache // tokens Verify verified (any audience; sid or not)
}

// claimsCache holds access tokens this process has verified, keyed by the
// whole token text, until they expire.
type claimsCache interface {
	Get(token string, now time.Time) (verified, bool)
	Put(token string, v verified, exp time.Time)
}

// verified is a cached token's claims and the key that verified it: a hit
// counts only while the key set still resolves its kid to that key, so
// that a key removed from the set (retired, or compromised) verifies
// nothing more, cached or not.
type verified struct {
	claims *AccessClaims
	kid    string
	key    *jose.Key
}

// keyRecorder is a key resolver that remembers the key it resolved.
type keyRecorder struct {
	keys jose.KeyResolver
	kid  string
	key  *jose.Key
}

func (r *keyRecorder) ResolveKey(kid string) (*jose.Key, error) {
	k, err := r.keys.ResolveKey(kid)
	if err == nil {
		r.kid, r.key = kid, k
	}
	return k, err
}

// New returns a Service for cfg.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("token: Issuer is required")
	case cfg.Keys == nil || cfg.Store == nil || cfg.Sessions == nil:
		return nil, errors.New("token: Keys, Store and Sessions are required")
	case len(cfg.SuccessorKey) < 32:
		return nil, errors.New("token: SuccessorKey must be at least 32 bytes")
	}
	if len(cfg.Audience) == 0 {
		cfg.Audience = []string{cfg.Issuer}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.AccessTTL, 15*time.Minute)
	def(&cfg.RefreshIdle, 7*24*time.Hour)
	def(&cfg.RefreshLifetime, 30*24*time.Hour)
	def(&cfg.Grace, 10*time.Second)
	if cfg.Grace < 0 {
		cfg.Grace = 0
	}
	if cfg.AccessTTL > MaxAccessTTL || cfg.AccessTTL > cfg.Sessions.Config().DenylistTTL {
		return nil, errors.New("token: AccessTTL must not exceed 1 hour nor the session manager's DenylistTTL")
	}
	if cfg.DefaultClientID == "" {
		cfg.DefaultClientID = "sesame"
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 10000
	}
	cfg.Clock = sesame.ClockOrSystem(cfg.Clock)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{cfg: cfg}
	s.verifier = &jose.Verifier{
		Keys: cfg.Keys, Issuer: cfg.Issuer, Audience: cfg.Audience, Type: "at+jwt",
		Required: []string{"sub", "aud", "iat", "jti", "sid", "client_id"},
		Now:      cfg.Clock.Now,
	}
	if cfg.CacheSize > 0 {
		s.cache = newCache(cfg.CacheSize)
		s.vcache = newCache(cfg.CacheSize)
	}
	return s, nil
}

// Config returns the configuration with defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// AccessClaims are the claims of a Sesame access token: the one type
// shared with package verify and the server, [sesame.AccessClaims].
type AccessClaims = sesame.AccessClaims

// Pair is what a client gets at login and at every refresh.
type Pair struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"` // none from ClientCredentials
	Scope        string `json:"scope,omitempty"`

	// AccessExpiresAt and RefreshExpiresAt are for cookie lifetimes;
	// Persistent says whether cookies carrying the pair may outlive the
	// browser session: only when the session is a "remember me" one, like
	// the session cookie.
	AccessExpiresAt  time.Time `json:"-"`
	RefreshExpiresAt time.Time `json:"-"`
	Persistent       bool      `json:"-"`
}

// The errors clients see. Refresh failures are all invalid_grant (RFC 6749
// §5.2): the client must log in again.
var (
	ErrInvalidGrant = sesame.Errorf(sesame.EUnauthenticated, "invalid_grant: the refresh token is invalid, expired or revoked")
	ErrInvalidScope = sesame.Errorf(sesame.EInvalid, "invalid_scope: the requested scope exceeds the granted scope")
	ErrInvalidToken = sesame.Errorf(sesame.EUnauthenticated, "invalid access token")
	// ErrInvalidTarget: a refresh asked for an audience (RFC 8707
	// resource) outside the family's, or an issue named an empty one.
	ErrInvalidTarget = sesame.Errorf(sesame.EInvalid, "invalid_target: the requested resource is not one the grant covers")
)

// IssueOptions are the parameters of [Service.IssueWith].
type IssueOptions struct {
	// ClientID is the client the family is issued to. Default
	// Config.DefaultClientID.
	ClientID string
	// Scope is the space-separated scope granted; it never widens on
	// refresh.
	Scope string
	// Audience is the aud of the family's access tokens (RFC 8707
	// resources, checked by the caller), kept in Refresh.Audience: a
	// refresh may narrow it, never widen it. Default (empty):
	// Config.Audience, a first-party family whose tokens Sesame's own API
	// accepts. No entry may be empty.
	Audience []string
}

// RefreshOptions are the parameters of [Service.RefreshWith].
type RefreshOptions struct {
	// ClientID, when not empty, must be the client the token was issued
	// to (else ErrInvalidGrant).
	ClientID string
	// Scope, when not empty, narrows the new access token's scope and may
	// never widen it (SEC-32; else ErrInvalidScope).
	Scope string
	// Audience, when not empty, narrows the new access token's aud to
	// these values, each of which must be in the family's audience (else
	// ErrInvalidTarget). The family keeps its whole audience: the next
	// refresh may ask for any of it again.
	Audience []string

	// firstParty, set by [Service.Refresh], refuses a family issued with
	// an audience of its own (an OAuth client's, from IssueWith).
	firstParty bool
}

// Issue starts a refresh-token family for sess and returns its first pair:
// [Service.IssueWith] with the service's own audience.
func (s *Service) Issue(ctx context.Context, sess *sesame.Session, clientID, scope string) (*Pair, error) {
	return s.IssueWith(ctx, sess, IssueOptions{ClientID: clientID, Scope: scope})
}

// IssueWith starts a refresh-token family for sess and returns its first
// pair, for the client, scope and audience of opts.
func (s *Service) IssueWith(ctx context.Context, sess *sesame.Session, opts IssueOptions) (*Pair, error) {
	audience, err := cleanAudience(opts.Audience)
	if err != nil {
		return nil, err
	}
	clientID, scope := opts.ClientID, opts.Scope
	if !sess.SignedIn() {
		// An anonymous session (package session) never gets a token, nor
		// one waiting for its second factor (SEC-60).
		return nil, ErrInvalidGrant
	}
	if err := s.checkUser(ctx, sess.UserID, sess.CreatedAt); err != nil {
		return nil, err
	}
	groups, err := s.groups(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	if clientID == "" {
		clientID = s.cfg.DefaultClientID
	}
	scope = normalizeScope(scope)
	now := s.cfg.Clock.Now().UTC()
	tok, raw := newRefreshToken()
	famEnd := now.Add(s.cfg.RefreshLifetime)
	if sess.ExpiresAt.Before(famEnd) {
		famEnd = sess.ExpiresAt
	}
	r := &Refresh{
		Hash: sha256.Sum256(raw), FamilyID: newID(), SessionID: sess.ID, UserID: sess.UserID,
		ClientID: clientID, Scope: scope, Audience: audience, AccessJTI: newID(),
		CreatedAt: now, ExpiresAt: minTime(now.Add(s.cfg.RefreshIdle), famEnd), FamilyExpiresAt: famEnd,
	}
	if err := s.cfg.Store.CreateRefresh(ctx, r); err != nil {
		return nil, unavailable(err)
	}
	p, err := s.pair(sess, r, tok, scope, s.familyAudience(r), groups)
	if err != nil {
		return nil, err
	}
	s.emit(ctx, sesame.EventTokenIssued, r, "")
	return p, nil
}

// checkUser asks Config.CheckUser about userID's credential created at
// issued: a refusal is ErrInvalidGrant, a user store that cannot answer
// EUnavailable.
func (s *Service) checkUser(ctx context.Context, userID string, issued time.Time) error {
	if s.cfg.CheckUser == nil {
		return nil
	}
	err := s.cfg.CheckUser(ctx, userID, issued)
	switch sesame.ErrorCode(err) {
	case "":
		return nil
	case sesame.EUnauthenticated, sesame.EForbidden, sesame.ENotFound:
		return ErrInvalidGrant
	}
	return unavailable(err)
}

// groups returns the groups claim for userID: nil unless Config.Groups
// is set.
func (s *Service) groups(ctx context.Context, userID string) ([]string, error) {
	if s.cfg.Groups == nil {
		return nil, nil
	}
	g, err := s.cfg.Groups(ctx, userID)
	switch {
	case err == nil:
		return g, nil
	case sesame.ErrorCode(err) == sesame.ENotFound:
		return nil, ErrInvalidGrant
	}
	return nil, unavailable(err)
}

// pair signs the access token that goes with refresh token r (whose text
// is tok) for the session sess, with r's jti and issue time, so that a
// replay within the grace reproduces the same claims (but for the groups,
// which the caller reads afresh, before it changes any state), and with
// the audience aud.
func (s *Service) pair(sess *sesame.Session, r *Refresh, tok, scope string, aud []string, groups []string) (*Pair, error) {
	iat := r.CreatedAt
	exp := minTime(iat.Add(s.cfg.AccessTTL), sess.ExpiresAt)
	c := &AccessClaims{
		Claims: jose.Claims{
			Issuer: s.cfg.Issuer, Subject: sess.UserID, Audience: jose.Audience(aud),
			IssuedAt: jose.NewNumericDate(iat), ExpiresAt: jose.NewNumericDate(exp), ID: r.AccessJTI,
		},
		SessionID: sess.ID, ClientID: r.ClientID, Scope: scope, Groups: groups,
		ACR: sess.Level(), AMR: sess.Methods(),
	}
	if t := sess.StepUpTime(); !t.IsZero() {
		c.AuthTime = jose.NewNumericDate(t)
	}
	key := s.cfg.Keys.SigningKey()
	if key == nil {
		return nil, sesame.Errorf(sesame.EUnavailable, "no signing key")
	}
	at, err := jose.SignJWT(key, c, jose.SignOptions{Type: "at+jwt"})
	if err != nil {
		return nil, sesame.Wrap(sesame.EInternal, err, "could not sign the access token")
	}
	expiresIn := int(exp.Sub(s.cfg.Clock.Now()).Seconds())
	return &Pair{AccessToken: at, TokenType: "Bearer", ExpiresIn: max(expiresIn, 0), RefreshToken: tok, Scope: scope,
		AccessExpiresAt: exp, RefreshExpiresAt: r.ExpiresAt, Persistent: sess.Remember}, nil
}

// Refresh redeems a refresh token for a new pair. clientID, when not
// empty, must be the client the token was issued to; scope, when not empty,
// narrows the new access token's scope and may never widen it (SEC-32).
// The access token has the family's whole audience: [Service.RefreshWith]
// with clientID and scope.
//
// Refresh is the first-party refresh (Sesame's /api/v1/token/refresh): it
// refuses (ErrInvalidGrant, without using it up) a token of a family
// issued with an audience (IssueOptions.Audience: an OAuth client's, which
// package oauth refreshes with RefreshWith after authenticating the
// client, SEC-58). Else a stolen refresh token of a confidential OAuth
// client would be redeemed without the client's credentials.
func (s *Service) Refresh(ctx context.Context, tok, clientID, scope string) (*Pair, error) {
	return s.RefreshWith(ctx, tok, RefreshOptions{ClientID: clientID, Scope: scope, firstParty: true})
}

// RefreshWith redeems a refresh token for a new pair, checked and narrowed
// by opts (see [RefreshOptions]). A refused request (ErrInvalidGrant,
// ErrInvalidScope, ErrInvalidTarget) does not use the token up.
func (s *Service) RefreshWith(ctx context.Context, tok string, opts RefreshOptions) (*Pair, error) {
	clientID, scope := opts.ClientID, opts.Scope
	raw, ok := parseRefreshToken(tok)
	if !ok {
		return nil, ErrInvalidGrant
	}
	h := sha256.Sum256(raw)
	r, err := s.cfg.Store.RefreshByHash(ctx, h)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, ErrInvalidGrant
	}
	if err != nil {
		return nil, unavailable(err)
	}
	if err := s.checkUser(ctx, r.UserID, r.CreatedAt); err != nil {
		return nil, err
	}
	if clientID != "" && clientID != r.ClientID {
		return nil, ErrInvalidGrant
	}
	if opts.firstParty && len(r.Audience) > 0 {
		return nil, ErrInvalidGrant // an OAuth client's family (SEC-58)
	}
	scope = normalizeScope(scope)
	if scope == "" {
		scope = r.Scope
	} else if !subset(scope, r.Scope) {
		return nil, ErrInvalidScope
	}
	aud, err := s.narrowAudience(r, opts.Audience)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now().UTC()
	if !r.UsedAt.IsZero() {
		return s.replay(ctx, r, tok, scope, aud, now)
	}
	if !now.Before(r.ExpiresAt) || !now.Before(r.FamilyExpiresAt) {
		return nil, ErrInvalidGrant
	}
	groups, err := s.groups(ctx, r.UserID)
	if err != nil {
		return nil, err
	}
	sess, err := s.cfg.Sessions.TouchForRefresh(ctx, r.SessionID)
	if errors.Is(err, session.ErrSessionRevoked) {
		s.cfg.Store.DeleteFamily(ctx, r.FamilyID)
		return nil, ErrInvalidGrant
	}
	if err != nil {
		return nil, err
	}
	nextTok, nextRaw := s.successor(tok)
	next := &Refresh{
		Hash: sha256.Sum256(nextRaw), FamilyID: r.FamilyID, SessionID: r.SessionID, UserID: r.UserID,
		ClientID: r.ClientID, Scope: r.Scope, Audience: r.Audience, AccessJTI: newID(),
		CreatedAt: now, ExpiresAt: minTime(now.Add(s.cfg.RefreshIdle), r.FamilyExpiresAt), FamilyExpiresAt: r.FamilyExpiresAt,
	}
	switch err := s.cfg.Store.RedeemRefresh(ctx, h, now, next); {
	case sesame.ErrorCode(err) == sesame.EConflict:
		// Another request redeemed it first (or, since successors are
		// derived, already inserted this very successor): this one is a
		// replay.
		if r, err = s.cfg.Store.RefreshByHash(ctx, h); err != nil {
			if errors.Is(err, sesame.ErrNotFound) {
				return nil, ErrInvalidGrant
			}
			return nil, unavailable(err)
		}
		return s.replay(ctx, r, tok, scope, aud, now)
	case errors.Is(err, sesame.ErrNotFound):
		return nil, ErrInvalidGrant // the family was revoked meanwhile
	case err != nil:
		return nil, unavailable(err)
	}
	p, err := s.pair(sess, next, nextTok, scope, aud, groups)
	if err != nil {
		return nil, err
	}
	s.emit(ctx, sesame.EventRefreshRotated, next, "")
	return p, nil
}

// replay answers a refresh token presented after its first use: within the
// grace, the same successor pair; after it, reuse, which revokes the
// family and the session (SEC-29).
func (s *Service) replay(ctx context.Context, r *Refresh, tok, scope string, aud []string, now time.Time) (*Pair, error) {
	// A conflict on a token not yet marked used means a concurrent
	// redemption is in flight (in a store that claims the successor before
	// it marks the token): that is a simultaneous request, never reuse.
	inFlight := r.UsedAt.IsZero()
	if inFlight && s.cfg.Grace == 0 {
		return nil, ErrInvalidGrant
	}
	if inFlight || now.Before(r.UsedAt.Add(s.cfg.Grace)) {
		nextTok, nextRaw := s.successor(tok)
		next, err := s.successorRecord(ctx, sha256.Sum256(nextRaw), inFlight)
		if errors.Is(err, sesame.ErrNotFound) {
			return nil, ErrInvalidGrant
		}
		if err != nil {
			return nil, unavailable(err)
		}
		sess, err := s.cfg.Sessions.TouchForRefresh(ctx, r.SessionID)
		if errors.Is(err, session.ErrSessionRevoked) {
			return nil, ErrInvalidGrant
		}
		if err != nil {
			return nil, err
		}
		groups, err := s.groups(ctx, r.UserID)
		if err != nil {
			return nil, err
		}
		return s.pair(sess, next, nextTok, scope, aud, groups)
	}
	// The session first: deleting it deletes its refresh tokens too, so a
	// crash before DeleteFamily leaves nothing to redo, while the other
	// order would leave a live session that no retry can find (SEC-66).
	if _, err := s.cfg.Sessions.Revoke(ctx, r.SessionID, "refresh token reuse"); err != nil {
		return nil, err
	}
	if err := s.cfg.Store.DeleteFamily(ctx, r.FamilyID); err != nil {
		return nil, unavailable(err)
	}
	s.emit(ctx, sesame.EventRefreshReuse, r, "a used refresh token was presented after its grace")
	return nil, ErrInvalidGrant
}

// Authenticate verifies an access token for Sesame's own API and checks
// that its session is still alive: only a user's token with one of
// Config.Audience as aud (so not one issued to an OAuth client for another
// resource, RFC 8707) and a sid (so never a client's own token from
// ClientCredentials). A token already verified by this process is not
// verified again until it expires, but the revocation check runs every
// time. [Service.Verify] checks tokens for other audiences.
func (s *Service) Authenticate(ctx context.Context, tok string) (*AccessClaims, error) {
	c, _ := s.cachedClaims(tok, s.cfg.Clock.Now())
	return s.authenticate(ctx, tok, c)
}

// authenticate is Authenticate with the cache already asked: c is the
// cached claims of tok, or nil.
func (s *Service) authenticate(ctx context.Context, tok string, c *AccessClaims) (*AccessClaims, error) {
	if c == nil {
		c = new(AccessClaims)
		v, rec := *s.verifier, &keyRecorder{keys: s.cfg.Keys}
		v.Keys = rec
		if err := v.Verify(tok, c); err != nil {
			return nil, sesame.Wrap(sesame.EUnauthenticated, err, ErrInvalidToken.Message)
		}
		if s.cache != nil && rec.key != nil {
			s.cache.Put(tok, verified{claims: c, kid: rec.kid, key: rec.key}, c.ExpiresAt.Time)
		}
	}
	if c.SessionID == "" {
		return nil, errNoSession // never a client's own token (ClientCredentials): SEC-59
	}
	if err := s.cfg.Sessions.CheckLive(ctx, c.SessionID); err != nil {
		if errors.Is(err, session.ErrSessionRevoked) {
			return nil, sesame.Wrap(sesame.EUnauthenticated, err, ErrInvalidToken.Message)
		}
		return nil, err
	}
	return c, nil
}

func (s *Service) cachedClaims(tok string, now time.Time) (*AccessClaims, bool) {
	if s.cache == nil {
		return nil, false
	}
	v, ok := s.cache.Get(tok, now)
	if !ok {
		return nil, false
	}
	if !s.keyStillHeld(v.kid, v.key) {
		return nil, false // the key was removed or replaced: verify again
	}
	return v.claims, true
}

// keyStillHeld reports whether the key set still resolves kid to key: with
// a plain lookup when it offers one (a *jose.KeySet), else by resolving.
func (s *Service) keyStillHeld(kid string, key *jose.Key) bool {
	if l, ok := s.cfg.Keys.(interface {
		Lookup(kid string) (*jose.Key, bool)
	}); ok && kid != "" {
		k, ok := l.Lookup(kid)
		return ok && k == key
	}
	k, err := s.cfg.Keys.ResolveKey(kid)
	return err == nil && k == key
}

// Revoke revokes a token with RFC 7009 semantics: the token's session and,
// for a refresh token, its family. An unknown, malformed or already revoked
// token is not an error. hint ("access_token" or "refresh_token") only
// chooses which kind to try first.
func (s *Service) Revoke(ctx context.Context, tok, hint string) error {
	tryAccess := func() (bool, error) {
		c, ok := s.signedClaims(tok)
		if !ok {
			return false, nil
		}
		_, err := s.cfg.Sessions.Revoke(ctx, c.SessionID, "token revoked")
		return true, err
	}
	tryRefresh := func() (bool, error) {
		raw, ok := parseRefreshToken(tok)
		if !ok {
			return false, nil
		}
		r, err := s.cfg.Store.RefreshByHash(ctx, sha256.Sum256(raw))
		if errors.Is(err, sesame.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, unavailable(err)
		}
		// The session first: a crash between the two steps then leaves a
		// family whose session is gone (unusable, deleted with it by the
		// stores), never a live session that a retry can no longer find
		// through its deleted family (SEC-66).
		if _, err := s.cfg.Sessions.Revoke(ctx, r.SessionID, "token revoked"); err != nil {
			return false, err
		}
		if err := s.cfg.Store.DeleteFamily(ctx, r.FamilyID); err != nil {
			return false, unavailable(err)
		}
		s.emit(ctx, sesame.EventTokenRevoked, r, "")
		return true, nil
	}
	order := []func() (bool, error){tryRefresh, tryAccess}
	if hint == "access_token" || (hint == "" && strings.Count(tok, ".") == 2) {
		order[0], order[1] = tryAccess, tryRefresh
	}
	for _, try := range order {
		if done, err := try(); done || err != nil {
			return err
		}
	}
	return nil
}

// signedClaims returns the claims of an access token whose signature, typ
// and issuer check out, expired or not: revoking the session of an expired
// token is harmless, and RFC 7009 allows it.
func (s *Service) signedClaims(tok string) (*AccessClaims, bool) {
	payload, hdr, err := jose.Verify(tok, s.cfg.Keys)
	if err != nil || !strings.EqualFold(strings.TrimPrefix(strings.ToLower(hdr.Type), "application/"), "at+jwt") {
		return nil, false
	}
	var c AccessClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer != s.cfg.Issuer || c.SessionID == "" {
		return nil, false
	}
	return &c, true
}

// successorRecord reads the successor token h. While a redemption is in
// flight it waits a little (up to about 200 ms) for the winner to store it.
func (s *Service) successorRecord(ctx context.Context, h [32]byte, inFlight bool) (*Refresh, error) {
	for attempt := 0; ; attempt++ {
		next, err := s.cfg.Store.RefreshByHash(ctx, h)
		if !inFlight || attempt == 40 || !errors.Is(err, sesame.ErrNotFound) {
			return next, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
