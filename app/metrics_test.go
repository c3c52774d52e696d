package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsClient sends requests to the public handler as a browser or an
// API client of https://auth.example.com would, from a canary address.
type metricsClient struct {
	t *testing.T
	h http.Handler
}

func (c metricsClient) do(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "https://auth.example.com"+path, r)
	req.RemoteAddr = "203.0.113.77:40123" // a canary IP
	req.Header.Set("User-Agent", "canary-agent-2b8e")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != "GET" && method != "HEAD" {
		req.Header.Set("Origin", "https://auth.example.com")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	return rec
}

func scrape(t *testing.T, h http.Handler) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:9090/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics on the metrics handler: %d", rec.Code)
	}
	body := rec.Body.String()
	// A real parser of the exposition format, with the strict (legacy)
	// name rules: the scrape is valid Prometheus text.
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the scrape does not parse: %v", err)
	}
	return body, fams
}

// value returns the sum of the samples of family name whose labels
// include want (counter, gauge, or a histogram's count).
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	sum := 0.0
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// TestMetricsScrapeLabelHygiene runs real traffic with canary values
// (a user name, a password, a session cookie, bearer and refresh tokens, a
// path, an IP, a User-Agent, a Host, a method) through the real public
// handler, scrapes the metrics handler, and checks that the scrape parses,
// that no canary appears anywhere in it, that every sesame_ label takes
// only its bounded values, and that the traffic was counted (SEC-55: no
// secret or personal value leaves through metrics either).
func TestMetricsScrapeLabelHygiene(t *testing.T) {
	cfg := testConfig(t, filepath.Join(t.TempDir(), "sesame.db"))
	cfg.MetricsAddr = "127.0.0.1:0"
	a, err := newApp(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	c := metricsClient{t, a.Handler()}
	const user, pw = "canary-user-7f3a", "canary-pass-4d1e-long enough"

	if rec := c.do("POST", "/api/v1/signup", `{"username":"`+user+`","password":"`+pw+`"}`); rec.Code != 201 {
		t.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	rec := c.do("POST", "/api/v1/login", `{"username":"`+user+`","password":"`+pw+`"}`)
	if rec.Code != 200 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	var sessionCookie string
	for _, ck := range rec.Result().Cookies() {
		if strings.HasSuffix(ck.Name, "sesame") {
			sessionCookie = ck.Name + "=" + ck.Value
		}
	}
	if sessionCookie == "" {
		t.Fatal("no session cookie")
	}
	var me struct {
		Session struct {
			ID string `json:"id"`
		} `json:"session"`
	}
	rec = c.do("GET", "/api/v1/me", "", "Cookie", sessionCookie)
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &me) != nil || me.Session.ID == "" {
		t.Fatalf("me with the cookie: %d %s", rec.Code, rec.Body)
	}
	c.do("HEAD", "/api/v1/me", "", "Cookie", sessionCookie)
	if rec := c.do("POST", "/api/v1/login", `{"username":"`+user+`","password":"canary-wrong-9a0c"}`); rec.Code != 401 {
		t.Fatalf("wrong password: %d", rec.Code)
	}
	if rec := c.do("POST", "/api/v1/login", `{"username":"canary-ghost-5e1b","password":"canary-wrong-9a0c"}`); rec.Code != 401 {
		t.Fatalf("unknown user: %d", rec.Code)
	}
	rec = c.do("POST", "/api/v1/login", `{"username":"`+user+`","password":"`+pw+`","transport":"header"}`)
	var pair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &pair) != nil || pair.AccessToken == "" || pair.RefreshToken == "" {
		t.Fatalf("token login: %d %s", rec.Code, rec.Body)
	}
	if rec := c.do("GET", "/api/v1/me", "", "Authorization", "Bearer "+pair.AccessToken); rec.Code != 200 {
		t.Fatalf("me with the bearer token: %d", rec.Code)
	}
	if rec := c.do("GET", "/api/v1/me", "", "Authorization", "Bearer canary-token-e6f0"); rec.Code != 401 {
		t.Fatalf("me with a forged bearer token: %d", rec.Code)
	}
	if rec := c.do("POST", "/api/v1/token/refresh", `{"refresh_token":"`+pair.RefreshToken+`"}`); rec.Code != 200 {
		t.Fatalf("refresh: %d %s", rec.Code, rec.Body)
	}
	c.do("GET", "/nonexistent/canary-path-9d2c", "")
	c.do("GET", "/api/v1/canary-api-path-1c4d", "")
	c.do("CANARYMETHOD", "/api/v1/me", "")
	c.do("GET", "/api/v1/me", "", "Host", "canary-host-8e2f.example")
	if rec := c.do("GET", "/metrics", ""); rec.Code != 404 {
		t.Errorf("GET /metrics on the public handler: %d, want 404", rec.Code)
	}
	rec = c.do("GET", "/api/v1/csrf", "", "Cookie", sessionCookie)
	var csrf struct {
		Token string `json:"csrf_token"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &csrf) != nil {
		t.Fatalf("csrf: %d %s", rec.Code, rec.Body)
	}
	cookies := sessionCookie
	for _, ck := range rec.Result().Cookies() {
		cookies += "; " + ck.Name + "=" + ck.Value
	}
	c.do("DELETE", "/api/v1/sessions/canary-sid-3b7a", "", "Cookie", cookies, "X-CSRF-Token", csrf.Token)
	c.do("DELETE", "/api/v1/sessions/canary-sid-3b7a", "", "Cookie", sessionCookie) // no CSRF token: refused before routing
	if rec := c.do("POST", "/api/v1/logout", "", "Cookie", cookies, "X-CSRF-Token", csrf.Token); rec.Code >= 300 {
		t.Fatalf("logout: %d %s", rec.Code, rec.Body)
	}

	// The OAuth endpoints with canary client IDs, secrets, codes and
	// redirect URIs: none may become a label value.
	c.do("GET", "/.well-known/openid-configuration", "")
	c.do("GET", "/oauth2/authorize?client_id=canary-client-5a1f&redirect_uri=https%3A%2F%2Fcanary-rp-3e9d.example%2Fcb&response_type=code&scope=openid&state=canary-state-0b4c", "", "Cookie", sessionCookie)
	c.do("POST", "/oauth2/token", "grant_type=authorization_code&code=canary-code-6d2e&client_id=canary-client-5a1f&client_secret=canary-secret-8c7b",
		"Content-Type", "application/x-www-form-urlencoded")
	c.do("POST", "/oauth2/token", "grant_type=canary-grant-2f6a", "Content-Type", "application/x-www-form-urlencoded",
		"Authorization", "Basic Y2FuYXJ5LWNsaWVudDpjYW5hcnktc2VjcmV0") // canary-client:canary-secret
	c.do("POST", "/oauth2/introspect", "token=canary-token-4b8e", "Content-Type", "application/x-www-form-urlencoded")
	c.do("GET", "/oauth2/userinfo", "", "Authorization", "Bearer canary-token-1e3c")

	// The background work's store calls (the cleanups run once at
	// start, then every minute or more): wait for their first round.
	body, fams := scrape(t, a.MetricsHandler())
	for deadline := time.Now().Add(20 * time.Second); ; {
		done := true
		for _, op := range []string{"cleanup_sessions", "cleanup_oauth", "cleanup_email"} {
			done = done && value(fams, "sesame_store_call_duration_seconds", map[string]string{"op": op}) >= 1
		}
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
		body, fams = scrape(t, a.MetricsHandler())
	}
	if d := os.Getenv("SESAME_METRICS_DUMP"); d != "" {
		os.WriteFile(d, []byte(body), 0o600)
	}
	canaries := []string{"canary", "7f3a", "203.0.113.77", pw, pair.AccessToken, pair.RefreshToken,
		sessionCookie, strings.SplitN(sessionCookie, "=", 2)[1], me.Session.ID, csrf.Token}
	for _, s := range canaries {
		if strings.Contains(body, s) {
			t.Errorf("the scrape contains the canary %.40q", s)
		}
	}

	// Every sesame_ label takes only its bounded values.
	routes := []string{"other"}
	for _, r := range a.Server().Routes() {
		routes = append(routes, r.Pattern)
	}
	op := regexp.MustCompile(`^(session|refresh|throttle|user|oauth|key|cleanup)_[a-z_]+$`)
	allowed := map[string]func(string) bool{
		"route":        func(v string) bool { return slices.Contains(routes, v) },
		"method":       in("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"),
		"status_class": in("2xx", "3xx", "4xx", "5xx"),
		"flow":         in("login", "signup", "refresh", "reauth", "second_factor"),
		"result": in("success", "wrong_password", "unknown_user", "throttled", "blocked", "reuse_detected",
			"wrong_code", "invalid_input", "unavailable", "other", "hit", "miss"),
		"kind": in("session", "refresh_token"),
		"cause": in("logout", "replaced_at_login", "user", "user_others", "admin", "user_blocked", "password_changed",
			"reauth_failures", "refresh_reuse", "token_revoked", "code_reuse", "command", "idle_timeout",
			"absolute_timeout", "api", "client", "second_factor_given", "second_factor_failures", "factors_reset", "other"),
		"op": op.MatchString,
		"le": func(string) bool { return true }, // bucket bounds: numbers, checked by the parser
	}
	for name, f := range fams {
		if !strings.HasPrefix(name, "sesame_") {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				ok := allowed[lp.GetName()]
				if ok == nil || !ok(lp.GetValue()) {
					t.Errorf("%s: label %s=%q is not one of the bounded set", name, lp.GetName(), lp.GetValue())
				}
			}
		}
	}

	// The traffic was counted where it should be.
	for _, w := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"sesame_http_requests_total", map[string]string{"route": "/api/v1/login", "method": "POST", "status_class": "2xx"}, 2},
		{"sesame_http_requests_total", map[string]string{"route": "/api/v1/login", "method": "POST", "status_class": "4xx"}, 2},
		{"sesame_http_requests_total", map[string]string{"route": "/api/v1/me", "method": "HEAD", "status_class": "2xx"}, 1},
		{"sesame_http_requests_total", map[string]string{"route": "/api/v1/sessions/{id}", "method": "DELETE"}, 1},
		{"sesame_http_requests_total", map[string]string{"route": "other", "method": "GET", "status_class": "4xx"}, 3},
		{"sesame_http_requests_total", map[string]string{"route": "other", "method": "other"}, 1},
		{"sesame_http_request_duration_seconds", map[string]string{"route": "/api/v1/signup", "method": "POST"}, 1},
		{"sesame_auth_attempts_total", map[string]string{"flow": "signup", "result": "success"}, 1},
		{"sesame_auth_attempts_total", map[string]string{"flow": "login", "result": "success"}, 2},
		{"sesame_auth_attempts_total", map[string]string{"flow": "login", "result": "wrong_password"}, 1},
		{"sesame_auth_attempts_total", map[string]string{"flow": "login", "result": "unknown_user"}, 1},
		{"sesame_auth_attempts_total", map[string]string{"flow": "refresh", "result": "success"}, 1},
		{"sesame_revocations_total", map[string]string{"kind": "session", "cause": "logout"}, 1},
		{"sesame_store_call_duration_seconds", map[string]string{"op": "session_create"}, 2},
		{"sesame_store_call_duration_seconds", map[string]string{"op": "user_by_name"}, 3},
		{"sesame_store_call_duration_seconds", map[string]string{"op": "refresh_redeem"}, 1},
		{"sesame_store_call_duration_seconds", map[string]string{"op": "throttle_fail"}, 1},
		// The signing keys (listed and created at start), the OAuth
		// provider's store (the canary client looked up), the cleanups.
		{"sesame_store_call_duration_seconds", map[string]string{"op": "key_list"}, 1},
		{"sesame_store_call_duration_seconds", map[string]string{"op": "key_insert"}, 1},
		{"sesame_store_call_duration_seconds", map[string]string{"op": "oauth_client"}, 1},
		{"sesame_store_call_duration_seconds", map[string]string{"op": "cleanup_sessions"}, 1},
		{"sesame_store_call_duration_seconds", map[string]string{"op": "cleanup_oauth"}, 1},
		{"sesame_store_call_duration_seconds", map[string]string{"op": "cleanup_email"}, 1},
		{"sesame_session_view_trusted", nil, 1},
		{"sesame_session_view_lookups_total", map[string]string{"result": "hit"}, 1},
		{"sesame_password_hash_slots", nil, 1},
		{"sesame_http_requests_total", map[string]string{"route": "/oauth2/token", "method": "POST", "status_class": "4xx"}, 2},
		{"sesame_http_requests_total", map[string]string{"route": "/oauth2/userinfo", "method": "GET", "status_class": "4xx"}, 1},
		{"go_goroutines", nil, 1},
		{"process_cpu_seconds_total", nil, 0},
	} {
		if got := value(fams, w.name, w.labels); got < w.min {
			t.Errorf("%s%v = %v, want at least %v", w.name, w.labels, got, w.min)
		}
	}
	for _, name := range []string{"sesame_store_call_errors_total", "sesame_session_view_feed_lag_seconds",
		"sesame_session_view_cached_sessions", "sesame_session_view_denylist_size", "sesame_password_hash_in_use",
		"sesame_password_hash_queued", "sesame_password_hash_rejected_total"} {
		if fams[name] == nil {
			t.Errorf("%s is missing from the scrape", name)
		}
	}
}

func in(values ...string) func(string) bool {
	return func(v string) bool { return slices.Contains(values, v) }
}

// TestMetricsOffByDefault: without metrics_addr there is no metrics
// handler, and the public handler never serves /metrics (with it or not).
func TestMetricsOffByDefault(t *testing.T) {
	a, err := newApp(t, testConfig(t, filepath.Join(t.TempDir(), "sesame.db")))
	if err != nil {
		t.Fatal(err)
	}
	if a.MetricsHandler() != nil || a.Metrics() != nil {
		t.Fatal("metrics are on without metrics_addr")
	}
	if got := get(t, a.Handler(), "/metrics"); got != 404 {
		t.Errorf("GET /metrics on the public handler: %d, want 404", got)
	}
}

// TestMetricsStreamingThroughRecorder: with metrics on, the revocation
// stream (Server-Sent Events: flushes and write deadlines through
// http.ResponseController) still streams over a real connection, and is
// counted under its route once it ends.
func TestMetricsStreamingThroughRecorder(t *testing.T) {
	cfg := testConfig(t, filepath.Join(t.TempDir(), "sesame.db"))
	cfg.MetricsAddr = "127.0.0.1:0"
	a, err := newApp(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	reqCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	req, _ := http.NewRequestWithContext(reqCtx, "GET", srv.URL+"/api/v1/revocations/stream", nil)
	req.Host = "auth.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf) // the first event arrives only if it was flushed
	if resp.StatusCode != 200 || n == 0 {
		t.Fatalf("stream: %d, read %q, %v", resp.StatusCode, buf[:n], err)
	}
	if !strings.Contains(string(buf[:n]), "event: position") {
		t.Errorf("first event %q", buf[:n])
	}
	stop() // the client leaves; the handler ends
	resp.Body.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, fams := scrape(t, a.MetricsHandler())
		if value(fams, "sesame_http_requests_total", map[string]string{"route": "/api/v1/revocations/stream", "status_class": "2xx"}) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ended stream was not counted under its route")
		}
	}
}
