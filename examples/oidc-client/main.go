// Command oidc-client is a small web app that signs its users in with
// Sesame's OpenID Provider through github.com/coreos/go-oidc/v3 and
// golang.org/x/oauth2: the authorization code flow with PKCE S256, state
// and nonce, the ID token verified against Sesame's JWKS (iss, aud, exp,
// nonce, at_hash), the RFC 9207 iss parameter checked (mix-up defence),
// userinfo, RP-initiated logout, and back-channel logout, which ends this
// app's sessions of a Sesame session that ended anywhere. docs/oidc.md
// walks through it.
//
//	sesame clients add --first-party --redirect-uri http://127.0.0.1:8400/callback \
//	    --post-logout-uri http://127.0.0.1:8400/ \
//	    --backchannel-logout-uri http://127.0.0.1:8400/backchannel --json Notes
//	OIDC_CLIENT_SECRET=... go run ./examples/oidc-client -issuer https://auth.example.com \
//	    -client-id ID -url http://127.0.0.1:8400
//
// Its sessions live in memory: a real app keeps them in its own store.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config is what the app needs to know.
type Config struct {
	Issuer       string // Sesame's public URL
	ClientID     string
	ClientSecret string
	URL          string // this app's base URL: URL/callback is the redirect URI
}

// App is the web app.
type App struct {
	cfg      Config
	provider *oidc.Provider
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	endSess  string // Sesame's end_session_endpoint

	mu       sync.Mutex
	pending  map[string]pending  // by the login cookie: a sign-in under way
	sessions map[string]*session // by the session cookie
}

// pending is what the callback must compare: kept server-side, keyed by a
// random cookie, never in the URL.
type pending struct {
	state, nonce, verifier string
	created                time.Time
}

type session struct {
	Subject  string
	Username string
	SID      string // Sesame's session, for back-channel logout
	IDToken  string // the id_token_hint of the logout request
	Token    *oauth2.Token
}

const (
	loginCookie   = "oidc_login"
	sessionCookie = "notes_session"
)

// New discovers the provider (its issuer must be cfg.Issuer exactly) and
// builds the app.
func New(ctx context.Context, cfg Config) (*App, error) {
	provider, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, err
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(cfg.URL, "/")
	return &App{
		cfg:      cfg,
		provider: provider,
		oauth: &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: provider.Endpoint(),
			RedirectURL: base + "/callback", Scopes: []string{oidc.ScopeOpenID, "profile"}},
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		endSess:  meta.EndSession,
		pending:  map[string]pending{},
		sessions: map[string]*session{},
	}, nil
}

var page = template.Must(template.New("page").Parse(`<!doctype html><title>Notes</title>
{{if .}}<p>Signed in as <b id="user">{{.Username}}</b>.</p>
<form method="post" action="/logout"><button id="logout">Sign out</button></form>
{{else}}<p id="anonymous">Not signed in. <a href="/login" id="login">Sign in with Sesame</a></p>{{end}}`))

// Handler is the app's routes.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, a.current(r))
	})
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("POST /backchannel", a.backchannel)
	return mux
}

func (a *App) current(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[c.Value]
}

func setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	// Secure is left off for http://127.0.0.1 in this example; set it
	// behind https.
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// login starts the code flow: fresh state, nonce and PKCE verifier.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	p := pending{state: rand.Text(), nonce: rand.Text(), verifier: oauth2.GenerateVerifier(), created: time.Now()}
	key := rand.Text()
	a.mu.Lock()
	a.pending[key] = p
	a.mu.Unlock()
	setCookie(w, loginCookie, key, 600)
	http.Redirect(w, r, a.oauth.AuthCodeURL(p.state, oauth2.S256ChallengeOption(p.verifier), oidc.Nonce(p.nonce)), http.StatusFound)
}

// callback finishes it: the state must be this browser's (CSRF), the iss
// parameter Sesame's (RFC 9207), then the code is exchanged with the PKCE
// verifier and the ID token verified, nonce and at_hash included.
func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCookie)
	if err != nil {
		http.Error(w, "no sign-in under way in this browser", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	p, ok := a.pending[c.Value]
	delete(a.pending, c.Value) // one use
	a.mu.Unlock()
	setCookie(w, loginCookie, "", -1)
	q := r.URL.Query()
	switch {
	case !ok || time.Since(p.created) > 10*time.Minute:
		http.Error(w, "sign-in expired: try again", http.StatusBadRequest)
		return
	case q.Get("state") != p.state:
		http.Error(w, "state mismatch", http.StatusBadRequest)
		return
	case q.Get("iss") != a.cfg.Issuer:
		http.Error(w, "response from another issuer", http.StatusBadRequest)
		return
	case q.Get("error") != "":
		http.Error(w, "sign-in refused: "+q.Get("error"), http.StatusForbidden)
		return
	}
	ctx := r.Context()
	tok, err := a.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		log.Printf("code exchange: %v", err)
		http.Error(w, "sign-in failed", http.StatusBadGateway)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.verifier.Verify(ctx, raw)
	if err == nil && idt.Nonce != p.nonce {
		err = errors.New("nonce mismatch")
	}
	if err == nil {
		err = idt.VerifyAccessToken(tok.AccessToken) // at_hash
	}
	var claims struct {
		SID string `json:"sid"`
	}
	if err == nil {
		err = idt.Claims(&claims)
	}
	var profile struct {
		Username string `json:"preferred_username"`
	}
	if err == nil {
		var ui *oidc.UserInfo
		if ui, err = a.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil && ui.Subject != idt.Subject {
			err = errors.New("userinfo is another user's")
		} else if err == nil {
			err = ui.Claims(&profile)
		}
	}
	if err != nil {
		log.Printf("sign-in: %v", err)
		http.Error(w, "sign-in failed", http.StatusBadGateway)
		return
	}
	key := rand.Text()
	a.mu.Lock()
	a.sessions[key] = &session{Subject: idt.Subject, Username: profile.Username, SID: claims.SID, IDToken: raw, Token: tok}
	a.mu.Unlock()
	setCookie(w, sessionCookie, key, 0)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the local session and sends the browser to Sesame's
// end_session_endpoint (RP-initiated logout), which ends the SSO session
// and comes back to post_logout_redirect_uri.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	s := a.current(r)
	if c, err := r.Cookie(sessionCookie); err == nil {
		a.mu.Lock()
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	setCookie(w, sessionCookie, "", -1)
	if s == nil || a.endSess == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	q := url.Values{"id_token_hint": {s.IDToken}, "post_logout_redirect_uri": {strings.TrimSuffix(a.cfg.URL, "/") + "/"},
		"client_id": {a.cfg.ClientID}}
	http.Redirect(w, r, a.endSess+"?"+q.Encode(), http.StatusSeeOther)
}

// backchannel receives Sesame's logout token (OpenID Connect Back-Channel
// Logout 1.0 §2.6): verified like an ID token (signature, iss, aud = this
// client, exp), then typ, the event, sid and no nonce; every local session
// of that Sesame session ends.
func (a *App) backchannel(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	raw := r.PostFormValue("logout_token")
	lt, err := a.verifier.Verify(r.Context(), raw)
	var c struct {
		SID    string                    `json:"sid"`
		Events map[string]map[string]any `json:"events"`
		Nonce  *string                   `json:"nonce"`
	}
	if err == nil {
		err = lt.Claims(&c)
	}
	if _, ok := c.Events["http://schemas.openid.net/event/backchannel-logout"]; err == nil && (!ok || c.Nonce != nil || c.SID == "") {
		err = errors.New("not a logout token with a sid")
	}
	if err == nil && !isLogoutJWT(raw) {
		err = errors.New("typ is not logout+jwt")
	}
	if err != nil {
		log.Printf("back-channel logout refused: %v", err)
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	for k, s := range a.sessions {
		if s.SID == c.SID {
			delete(a.sessions, k)
		}
	}
	a.mu.Unlock()
}

// isLogoutJWT reports whether the JWS header's typ is logout+jwt, so that
// an ID token (typ JWT) can never pass for a logout token.
func isLogoutJWT(raw string) bool {
	h, _, ok := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	var v struct {
		Typ string `json:"typ"`
	}
	return ok && err == nil && json.Unmarshal(b, &v) == nil &&
		strings.TrimPrefix(strings.ToLower(v.Typ), "application/") == "logout+jwt"
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8400", "listen address")
	issuer := flag.String("issuer", "http://localhost:8080", "Sesame's public URL")
	clientID := flag.String("client-id", "", "the client_id from `sesame clients add`")
	base := flag.String("url", "http://127.0.0.1:8400", "this app's base URL")
	flag.Parse()
	app, err := New(context.Background(), Config{Issuer: *issuer, ClientID: *clientID,
		ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"), URL: *base})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, app.Handler()))
}
