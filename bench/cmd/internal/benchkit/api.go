package benchkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// NewClient returns an HTTP client tuned for load: keep-alive connections
// to one host, as many idle ones kept as there are concurrent callers, no
// compression, no redirects followed. insecure skips TLS verification (for
// a loopback server with a self-signed certificate).
func NewClient(concurrency int, insecure bool) *http.Client {
	concurrency = max(concurrency, 1)
	tr := &http.Transport{
		Proxy:               nil, // never through a proxy: loopback only
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * concurrency,
		MaxIdleConnsPerHost: concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		TLSHandshakeTimeout: 5 * time.Second,
	}
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // loopback benchmark, opt-in
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Credential is what authenticates a request: a session cookie ("name=value",
// sent as a Cookie header by hand, since net/http/cookiejar does not send
// Secure cookies over plain HTTP) or a Bearer access token.
type Credential struct {
	Cookie    string // "__Host-sesame=..."
	Bearer    string // access token
	SessionID string // the session's public ID, when known
}

// Apply sets c on req.
func (c Credential) Apply(req *http.Request) {
	if c.Cookie != "" {
		req.Header.Set("Cookie", c.Cookie)
	}
	if c.Bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.Bearer)
	}
}

// API calls a Sesame server's JSON API as a non-browser client: no Origin,
// no cookie on unsafe requests except where a test wants one.
type API struct {
	Base   string // e.g. http://127.0.0.1:8080
	Client *http.Client
}

// Response is a finished call.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends method path with body JSON-encoded (nil: no body), cred applied
// and the extra headers (name, value pairs).
func (a *API) Do(ctx context.Context, method, path string, body any, cred Credential, hdr ...string) (*Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.Base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "sesame-bench/1")
	cred.Apply(req)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

func (r *Response) want(status int, what string) error {
	if r.Status != status {
		return fmt.Errorf("%s: got %d, want %d: %s", what, r.Status, status, strings.TrimSpace(string(r.Body)))
	}
	return nil
}

// RandomSuffix returns n random hex characters, to keep accounts of
// different runs apart on one database.
func RandomSuffix(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// NewPassword returns a random password that passes Sesame's policy.
func NewPassword() string { return "bench-" + RandomSuffix(24) }

// Signup creates an account (201).
func (a *API) Signup(ctx context.Context, username, password string) error {
	r, err := a.Do(ctx, "POST", "/api/v1/signup", map[string]any{"username": username, "password": password}, Credential{})
	if err != nil {
		return fmt.Errorf("signup %s: %w", username, err)
	}
	return r.want(http.StatusCreated, "signup "+username)
}

type sessionInfo struct {
	ID     string `json:"id"`
	Device struct {
		IP string `json:"ip"`
	} `json:"device"`
}

// LoginCookie logs in with the session transport and returns the session
// cookie as a Credential (with the session ID), and the client IP the
// server recorded for the session. hdr are extra headers (for example
// X-Forwarded-For).
func (a *API) LoginCookie(ctx context.Context, username, password string, hdr ...string) (Credential, string, error) {
	r, err := a.Do(ctx, "POST", "/api/v1/login", map[string]any{"username": username, "password": password}, Credential{}, hdr...)
	if err != nil {
		return Credential{}, "", fmt.Errorf("login %s: %w", username, err)
	}
	if err := r.want(http.StatusOK, "login "+username); err != nil {
		return Credential{}, "", err
	}
	var out struct {
		Session *sessionInfo `json:"session"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || out.Session == nil {
		return Credential{}, "", fmt.Errorf("login %s: no session in %s", username, r.Body)
	}
	resp := http.Response{Header: r.Header}
	for _, c := range resp.Cookies() {
		if (c.Name == "__Host-sesame" || c.Name == "sesame") && c.Value != "" {
			return Credential{Cookie: c.Name + "=" + c.Value, SessionID: out.Session.ID}, out.Session.Device.IP, nil
		}
	}
	return Credential{}, "", fmt.Errorf("login %s: no session cookie in the answer", username)
}

// LoginBearer logs in with the header transport and returns the access
// token as a Credential.
func (a *API) LoginBearer(ctx context.Context, username, password string) (Credential, error) {
	r, err := a.Do(ctx, "POST", "/api/v1/login", map[string]any{"username": username, "password": password, "transport": "header"}, Credential{})
	if err != nil {
		return Credential{}, fmt.Errorf("login %s: %w", username, err)
	}
	if err := r.want(http.StatusOK, "login (header transport) "+username); err != nil {
		return Credential{}, err
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || out.AccessToken == "" {
		return Credential{}, fmt.Errorf("login %s: no access_token in %s", username, r.Body)
	}
	return Credential{Bearer: out.AccessToken}, nil
}

// CurrentSessionID returns the ID of the session cred belongs to, from GET
// /api/v1/sessions.
func (a *API) CurrentSessionID(ctx context.Context, cred Credential) (string, error) {
	r, err := a.Do(ctx, "GET", "/api/v1/sessions", nil, cred)
	if err != nil {
		return "", err
	}
	if err := r.want(http.StatusOK, "list sessions"); err != nil {
		return "", err
	}
	var out struct {
		Sessions []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		return "", err
	}
	for _, s := range out.Sessions {
		if s.Current {
			return s.ID, nil
		}
	}
	return "", fmt.Errorf("list sessions: no current session in %s", r.Body)
}
