package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// BenchmarkBearer measures one authenticated request through a bearer
// middleware: read the Authorization header, verify the access token and
// put its claims in the request context.
//
//   - sesame: Sesame's token middleware (token.Service.Middleware and
//     sesame.RequireAuth, what the server runs: the Principal in the context): signature, typ at+jwt, iss, aud, exp, required claims,
//     then the session's revocation check against the in-process denylist.
//     The verified-token cache is off.
//   - sesame-cached: the same with the cache on (the default), the token
//     repeated, as a client sends it for its 15-minute life.
//   - sesame-bare, sesame-bare-cached: the same token check
//     (token.Service.Authenticate) in a minimal hand-written middleware that
//     puts only the claims in the context, without the Principal and
//     RequireAuth: the baseline the middleware's own cost is measured
//     against (issue 10: within 10%).
//   - golang-jwt: a minimal middleware with golang-jwt v5 (pinned method,
//     iss and aud checks, MapClaims), and no revocation check at all.
func BenchmarkBearer(b *testing.B) {
	for _, alg := range []jose.Algorithm{jose.HS256, jose.ES256} {
		b.Run(string(alg), func(b *testing.B) {
			key, err := jose.GenerateKey(alg, "")
			if err != nil {
				b.Fatal(err)
			}
			b.Run("sesame", func(b *testing.B) { benchSesameBearer(b, key, -1) })
			b.Run("sesame-cached", func(b *testing.B) { benchSesameBearer(b, key, 0) })
			b.Run("sesame-bare", func(b *testing.B) { benchSesameBearerBare(b, key, -1) })
			b.Run("sesame-bare-cached", func(b *testing.B) { benchSesameBearerBare(b, key, 0) })
			b.Run("golang-jwt", func(b *testing.B) { benchGolangJWTBearer(b, key) })
		})
	}
}

type claimsKey struct{}

func benchSesameBearer(b *testing.B, key *jose.Key, cacheSize int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, tok := bearerFixture(b, ctx, key, cacheSize)
	mw := svc.Middleware(sesame.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := sesame.PrincipalFrom(r.Context()); p == nil || p.UserID != "user-1" {
			b.Fatal("no principal")
		}
	})))
	runBearer(b, mw, tok)
}

// benchSesameBearerBare is the baseline: Authenticate in a hand-written
// middleware, the claims alone in the context.
func benchSesameBearerBare(b *testing.B, key *jose.Key, cacheSize int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, tok := bearerFixture(b, ctx, key, cacheSize)
	runBearer(b, bareBearer(svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, _ := r.Context().Value(claimsKey{}).(*sesame.AccessClaims); c == nil || c.Subject != "user-1" {
			b.Fatal("no claims")
		}
	})), tok)
}

// bareBearer wraps next, an interface as in any real middleware chain (a
// mux, a router): the compiler cannot see through it, so the request copy
// made by WithContext is on the heap, as it is for every middleware that
// sets a context value.
//
//go:noinline
func bareBearer(svc *token.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		c, err := svc.Authenticate(r.Context(), raw)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
	})
}

// bearerFixture starts a token service on a memory store and issues one
// access token for a live session.
func bearerFixture(b *testing.B, ctx context.Context, key *jose.Key, cacheSize int) (*token.Service, string) {
	store := memstore.New()
	sessions, err := session.New(store, session.Config{})
	if err != nil {
		b.Fatal(err)
	}
	sessions.Start(ctx)
	keys, _ := jose.NewKeySet(key)
	svc, err := token.New(token.Config{Issuer: "https://auth.bench", Keys: keys, SuccessorKey: make([]byte, 32),
		Store: store, Sessions: sessions, CacheSize: cacheSize})
	if err != nil {
		b.Fatal(err)
	}
	sess, err := sessions.StartTokenSession(ctx, "user-1", session.LoginOptions{})
	if err != nil {
		b.Fatal(err)
	}
	pair, err := svc.Issue(ctx, sess, "bench", "")
	if err != nil {
		b.Fatal(err)
	}
	return svc, pair.AccessToken
}

func benchGolangJWTBearer(b *testing.B, key *jose.Key) {
	keys, _ := jose.NewKeySet(key)
	now := time.Now()
	tok, err := jose.SignJWT(keys.SigningKey(), &token.AccessClaims{Claims: jose.Claims{Issuer: "https://auth.bench", Subject: "user-1",
		Audience: jose.Audience{"https://auth.bench"}, IssuedAt: jose.NewNumericDate(now), ExpiresAt: jose.NewNumericDate(now.Add(time.Hour)), ID: "j"},
		SessionID: "s", ClientID: "bench"}, jose.SignOptions{Type: "at+jwt"})
	if err != nil {
		b.Fatal(err)
	}
	var verifyKey any
	method := "HS256"
	if key.IsSymmetric() {
		verifyKey = hmacSecret(b, key)
	} else {
		verifyKey, method = key.CryptoPublicKey(), "ES256"
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{method}), jwt.WithIssuer("https://auth.bench"),
		jwt.WithAudience("https://auth.bench"), jwt.WithExpirationRequired())
	h := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, _ := r.Context().Value(claimsKey{}).(jwt.MapClaims); c == nil || c["sub"] != "user-1" {
			b.Fatal("no claims")
		}
	}))
	mw := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		claims := jwt.MapClaims{}
		if _, err := parser.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return verifyKey, nil }); err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, claims)))
	})
	runBearer(b, mw, tok)
}

// hmacSecret recovers the raw secret of an HS256 key from its private JWK.
func hmacSecret(b *testing.B, key *jose.Key) []byte {
	raw, err := key.MarshalPrivateJWK()
	if err != nil {
		b.Fatal(err)
	}
	k, err := jwkOctSecret(raw)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

func runBearer(b *testing.B, h http.Handler, tok string) {
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := &discard{h: make(http.Header)}
	h.ServeHTTP(w, r)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

var errNoK = errors.New("bench: JWK has no k")

func jwkOctSecret(jwk []byte) ([]byte, error) {
	var v struct {
		K string `json:"k"`
	}
	if err := json.Unmarshal(jwk, &v); err != nil {
		return nil, err
	}
	if v.K == "" {
		return nil, errNoK
	}
	return base64.RawURLEncoding.DecodeString(v.K)
}
