package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/session"
)

type pair struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

// mobile is the client: JSON over real HTTP, its tokens in hand, no cookies.
type mobile struct {
	t    *testing.T
	base string
}

// call sends a JSON body (when in is not nil) with the access token (when
// not empty) and decodes the answer into out; it returns the status and
// the error code of an error answer.
func (m *mobile) call(method, path, access string, in, out any) (int, string) {
	m.t.Helper()
	var rd io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, m.base+path, rd)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if access != "" {
		req.Header.Set("Authorization", "Bearer "+access)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 400 {
		var e struct{ Error struct{ Code string } }
		if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
			m.t.Fatalf("%s %s: %d without the JSON error shape: %s", method, path, res.StatusCode, body)
		}
		return res.StatusCode, e.Error.Code
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			m.t.Fatalf("%s %s: %v: %s", method, path, err, body)
		}
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		m.t.Errorf("%s %s: Cache-Control %q, want no-store (SEC-50)", method, path, cc)
	}
	return res.StatusCode, ""
}

func (m *mobile) want(what string, gotStatus int, gotCode string, status int, code string) {
	m.t.Helper()
	if gotStatus != status || gotCode != code {
		m.t.Fatalf("%s: got %d %q, want %d %q", what, gotStatus, gotCode, status, code)
	}
}

// login → call a protected route → refresh → the spent refresh token,
// replayed after the grace, is refused and ends the whole session (SEC-29)
// → revoke (RFC 7009) → the access token is refused; logout ends a
// session's tokens; a wrong password, a missing or forged token are 401.
func TestAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := testclock.New(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	master, err := keyring.NewMasterKey(bytes.Repeat([]byte{7}, keyring.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	api, closeDB, err := New(ctx, filepath.Join(t.TempDir(), "api.db"), "https://api.test", master, session.Config{Clock: clock},
		&password.Hasher{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, AllowWeakParams: true})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	m := &mobile{t: t, base: srv.URL}
	creds := map[string]string{"username": "alice", "password": "correct horse battery"}

	s, c := m.call("POST", "/signup", "", creds, nil)
	m.want("sign-up", s, c, http.StatusCreated, "")
	s, c = m.call("POST", "/signup", "", creds, nil)
	m.want("sign-up with a taken name", s, c, http.StatusConflict, "conflict")
	s, c = m.call("POST", "/login", "", map[string]string{"username": "alice", "password": "wrong password!"}, nil)
	m.want("a wrong password", s, c, http.StatusUnauthorized, "unauthenticated")
	s, c = m.call("POST", "/login", "", map[string]string{"username": "nobody", "password": "wrong password!"}, nil)
	m.want("an unknown user", s, c, http.StatusUnauthorized, "unauthenticated")

	var p1 pair
	s, c = m.call("POST", "/login", "", creds, &p1)
	m.want("login", s, c, http.StatusOK, "")
	if p1.AccessToken == "" || p1.RefreshToken == "" || p1.TokenType != "Bearer" || p1.ExpiresIn != 900 {
		t.Fatalf("login: got %+v", p1)
	}
	s, c = m.call("GET", "/me", "", nil, nil)
	m.want("/me without a token", s, c, http.StatusUnauthorized, "unauthenticated")
	s, c = m.call("GET", "/me", p1.AccessToken+"x", nil, nil)
	m.want("/me with a forged token", s, c, http.StatusUnauthorized, "unauthenticated")
	var me struct {
		UserID    string `json:"user_id"`
		SessionID string `json:"session_id"`
	}
	s, c = m.call("GET", "/me", p1.AccessToken, nil, &me)
	m.want("/me", s, c, http.StatusOK, "")
	if me.UserID == "" || me.SessionID == "" {
		t.Fatalf("/me: got %+v", me)
	}

	// Refresh: a new pair for the same session; the old access token lives
	// on until it expires, the new one works.
	var p2 pair
	s, c = m.call("POST", "/token/refresh", "", map[string]string{"refresh_token": p1.RefreshToken}, &p2)
	m.want("refresh", s, c, http.StatusOK, "")
	if p2.RefreshToken == p1.RefreshToken || p2.AccessToken == p1.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	s, c = m.call("GET", "/me", p2.AccessToken, nil, nil)
	m.want("/me with the refreshed token", s, c, http.StatusOK, "")

	// The spent refresh token again, after the 10 s grace: someone stole
	// it. Refused, and the whole family and its session end (SEC-29).
	clock.Add(11 * time.Second)
	s, c = m.call("POST", "/token/refresh", "", map[string]string{"refresh_token": p1.RefreshToken}, nil)
	m.want("the spent refresh token", s, c, http.StatusUnauthorized, "unauthenticated")
	s, c = m.call("POST", "/token/refresh", "", map[string]string{"refresh_token": p2.RefreshToken}, nil)
	m.want("the successor after reuse", s, c, http.StatusUnauthorized, "unauthenticated")
	s, c = m.call("GET", "/me", p2.AccessToken, nil, nil)
	m.want("the access token after reuse", s, c, http.StatusUnauthorized, "unauthenticated")

	// Revoke (RFC 7009): 200 whatever the token; a known one ends its
	// session, so its access token is refused at once.
	var p3 pair
	m.call("POST", "/login", "", creds, &p3)
	s, c = m.call("POST", "/token/revoke", "", map[string]string{"token": "not-a-token"}, nil)
	m.want("revoking an unknown token", s, c, http.StatusOK, "")
	s, c = m.call("POST", "/token/revoke", "", map[string]string{"token": p3.RefreshToken, "token_type_hint": "refresh_token"}, nil)
	m.want("revoke", s, c, http.StatusOK, "")
	s, c = m.call("GET", "/me", p3.AccessToken, nil, nil)
	m.want("the access token after revoke", s, c, http.StatusUnauthorized, "unauthenticated")
	s, c = m.call("POST", "/token/refresh", "", map[string]string{"refresh_token": p3.RefreshToken}, nil)
	m.want("the refresh token after revoke", s, c, http.StatusUnauthorized, "unauthenticated")

	// Logout with the access token ends the session and both its tokens;
	// another device's session lives on.
	var p4, other pair
	m.call("POST", "/login", "", creds, &p4)
	m.call("POST", "/login", "", creds, &other)
	s, c = m.call("POST", "/logout", "", nil, nil)
	m.want("logout without a token", s, c, http.StatusUnauthorized, "unauthenticated")
	s, c = m.call("POST", "/logout", p4.AccessToken, nil, nil)
	m.want("logout", s, c, http.StatusNoContent, "")
	s, c = m.call("GET", "/me", p4.AccessToken, nil, nil)
	m.want("the access token after logout", s, c, http.StatusUnauthorized, "unauthenticated")
	s, c = m.call("POST", "/token/refresh", "", map[string]string{"refresh_token": p4.RefreshToken}, nil)
	m.want("the refresh token after logout", s, c, http.StatusUnauthorized, "unauthenticated")
	s, c = m.call("GET", "/me", other.AccessToken, nil, nil)
	m.want("another device after logout", s, c, http.StatusOK, "")

	// Not JSON: 415 before anything is read.
	req, _ := http.NewRequest("POST", srv.URL+"/login", bytes.NewReader([]byte("username=alice")))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a form login: got %d, want 415", res.StatusCode)
	}
}
