package verify_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/verify"
)

// A resource server protects its API with Sesame's access tokens.
func ExampleVerifier_Middleware() {
	// Stand-in for Sesame: a signing key, its JWKS endpoint and one token.
	key, _ := jose.GenerateKey(jose.ES256, "")
	keys, _ := jose.NewKeySet(key)
	jwks, _ := keys.MarshalJSON()
	sesame := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(jwks)
	}))
	defer sesame.Close()
	now := time.Now()
	token, _ := jose.SignJWT(key, &verify.Claims{
		Claims: jose.Claims{
			Issuer: "https://auth.example", Subject: "user-1", Audience: jose.Audience{"https://api.example"},
			IssuedAt: jose.NewNumericDate(now), ExpiresAt: jose.NewNumericDate(now.Add(15 * time.Minute)), ID: "jti-1",
		},
		SessionID: "sid-1", ClientID: "mobile", Scope: "notes:read",
	}, jose.SignOptions{Type: "at+jwt"})

	// The resource server.
	v, err := verify.New(verify.Config{
		JWKSURL:  sesame.URL + "/.well-known/jwks.json", // https in production
		Issuer:   "https://auth.example",
		Audience: []string{"https://api.example"},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	notes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := verify.FromContext(r.Context())
		if !c.HasScope("notes:read") {
			http.Error(w, "insufficient scope", http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, "notes of %s", c.Subject)
	})
	api := v.Middleware(notes)

	for _, auth := range []string{"Bearer " + token, "", "Bearer " + token[:len(token)-4] + "AAAA"} {
		req := httptest.NewRequest("GET", "/notes", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body.String())
	}
	// Output:
	// 200  notes of user-1
	// 401 Bearer {"error":{"code":"unauthenticated","message":"bearer token required"}}
	//
	// 401 Bearer error="invalid_token" {"error":{"code":"unauthenticated","message":"invalid token"}}
}
