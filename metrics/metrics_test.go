package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/session"
)

// sample returns the value of the series name{labels} in m's registry
// (a histogram's count), or -1 when there is none.
func sample(t *testing.T, m *Metrics, name string, labels ...string) float64 {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			got := map[string]string{}
			for _, lp := range s.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if got[labels[i]] != labels[i+1] {
					continue next
				}
			}
			switch {
			case s.Counter != nil:
				return s.GetCounter().GetValue()
			case s.Gauge != nil:
				return s.GetGauge().GetValue()
			case s.Histogram != nil:
				return float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	return -1
}

// wrapper stands for an inner middleware's writer (the session
// middleware's): it hides the recorder behind Unwrap.
type wrapper struct{ http.ResponseWriter }

func (w wrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

// TestHTTPRouteAndStatusClass: a routed request is labelled with its
// route's pattern (found through an inner writer's Unwrap), an unrouted
// one "other", never the path; the status class is the final code's, 2xx
// when nothing was written, and an unknown method is "other".
func TestHTTPRouteAndStatusClass(t *testing.T) {
	m := New()
	mux := http.NewServeMux()
	mux.Handle("GET /items/{id}", m.Route("GET", "/items/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "gone" {
			w.WriteHeader(http.StatusEarlyHints) // informational: not the final code
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})))
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(wrapper{w}, r)
	}))
	serve(h, "GET", "/items/secret-1")
	serve(h, "HEAD", "/items/secret-2")
	serve(h, "GET", "/items/gone")
	serve(h, "GET", "/nowhere/secret-3")
	serve(h, "BREW", "/items/secret-4")
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"route", "/items/{id}", "method", "GET", "status_class", "2xx"}, 1},
		{[]string{"route", "/items/{id}", "method", "HEAD", "status_class", "2xx"}, 1},
		{[]string{"route", "/items/{id}", "method", "GET", "status_class", "5xx"}, 1},
		{[]string{"route", "other", "method", "GET", "status_class", "4xx"}, 1},
		{[]string{"route", "other", "method", "other", "status_class", "4xx"}, 1},
	} {
		if got := sample(t, m, "sesame_http_requests_total", c.labels...); got != c.want {
			t.Errorf("sesame_http_requests_total%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if got := sample(t, m, "sesame_http_request_duration_seconds", "route", "/items/{id}", "method", "GET"); got != 2 {
		t.Errorf("duration count = %v, want 2", got)
	}
	body := scrape(t, m)
	if strings.Contains(body, "secret") || strings.Contains(body, "BREW") {
		t.Error("a path or a method token reached a label")
	}
}

// TestRecorderFlushAndController: a streaming handler can still flush
// and set deadlines through the recorder (http.ResponseController).
func TestRecorderFlushAndController(t *testing.T) {
	m := New()
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the recorder is not an http.Flusher")
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the controller: %v", err)
		}
	}))
	rec := serve(h, "GET", "/stream")
	if !rec.Flushed {
		t.Error("not flushed")
	}
	if got := sample(t, m, "sesame_http_requests_total", "route", "other", "method", "GET", "status_class", "2xx"); got != 1 {
		t.Errorf("count = %v", got)
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// TestMiddlewareAllocations: per request the middleware allocates the
// status-capturing writer and nothing else (label children are resolved
// at startup).
func TestMiddlewareAllocations(t *testing.T) {
	m := New()
	h := m.Middleware(m.Route("GET", "/x", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })))
	w := &discard{h: http.Header{}}
	r := httptest.NewRequest("GET", "/x", nil)
	h.ServeHTTP(w, r)
	if n := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) }); n > 1 {
		t.Errorf("%v allocations per request, want at most 1", n)
	}
}

// BenchmarkMiddleware is the cost the metrics add to one request: the
// recorder, two clock reads, a counter and a histogram observation.
func BenchmarkMiddleware(b *testing.B) {
	m := New()
	h := m.Middleware(m.Route("GET", "/x", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	w := &discard{h: http.Header{}}
	r := httptest.NewRequest("GET", "/x", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// TestEventsMapping: each audit event is counted under its bounded flow,
// result or cause, and passed on unchanged; free text never becomes a
// label value.
func TestEventsMapping(t *testing.T) {
	m := New()
	var passed []sesame.Event
	sink := m.Events(sesame.EventFunc(func(_ context.Context, e sesame.Event) { passed = append(passed, e) }))
	events := []sesame.Event{
		{Type: sesame.EventSignup, Username: "secret-user"},
		{Type: sesame.EventLoginSuccess, UserID: "u1"},
		{Type: sesame.EventLoginFailure, Reason: "bad credentials", Username: "secret-ghost"},
		{Type: sesame.EventLoginFailure, Reason: "bad credentials", UserID: "u1"},
		{Type: sesame.EventLoginFailure, Reason: "bad credentials (not counted: throttle store unavailable)", UserID: "u1"},
		{Type: sesame.EventLoginFailure, Reason: "throttled"},
		{Type: sesame.EventLoginFailure, Reason: "blocked", UserID: "u1"},
		{Type: sesame.EventLoginFailure, Reason: "secret free text"},
		{Type: sesame.EventReauthFailure, Reason: "wrong password (2 of 5)"},
		{Type: sesame.EventRefreshRotated},
		{Type: sesame.EventRefreshReuse, Reason: "a used refresh token was presented after its grace"},
		{Type: sesame.EventSessionRevoked, Reason: "user blocked"},
		{Type: sesame.EventSessionRevoked, Reason: "secret reason"},
		{Type: sesame.EventSessionExpired, Reason: "idle timeout"},
		{Type: sesame.EventTokenRevoked, Reason: "revoked by client secret-client"},
		{Type: sesame.EventCSRFRejected, Reason: "secret"},
		{Type: sesame.EventSecondFactorSuccess, Reason: "sign-in: otp (secret-phone)"},
		{Type: sesame.EventSecondFactorFailure, Reason: "sign-in: wrong code (1 of 5)"},
		{Type: sesame.EventSecondFactorFailure, Reason: "step-up: wrong code (5 of 5): session ended"},
		{Type: sesame.EventSecondFactorFailure, Reason: "passkey: secret-reason"},
		{Type: sesame.EventSecondFactorFailure, Reason: "sign-in: throttled"},
		{Type: sesame.EventSessionRevoked, Reason: "too many wrong second-factor codes"},
	}
	for _, e := range events {
		sink.Emit(context.Background(), e)
	}
	if len(passed) != len(events) {
		t.Fatalf("%d events passed on, want %d", len(passed), len(events))
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"sesame_auth_attempts_total", []string{"flow", "signup", "result", "success"}, 1},
		{"sesame_auth_attempts_total", []string{"flow", "login", "result", "success"}, 1},
		{"sesame_auth_attempts_total", []string{"flow", "login", "result", "unknown_user"}, 1},
		{"sesame_auth_attempts_total", []string{"flow", "login", "result", "wrong_password"}, 2},
		{"sesame_auth_attempts_total", []string{"flow", "login", "result", "throttled"}, 1},
		{"sesame_auth_attempts_total", []string{"flow", "login", "result", "blocked"}, 1},
		{"sesame_auth_attempts_total", []string{"flow", "login", "result", "other"}, 1},
		{"sesame_auth_attempts_total", []string{"flow", "reauth", "result", "wrong_password"}, 1},
		{"sesame_auth_attempts_total", []string{"flow", "refresh", "result", "success"}, 1},
		{"sesame_auth_attempts_total", []string{"flow", "refresh", "result", "reuse_detected"}, 1},
		{"sesame_auth_attempts_total", []string{"flow", "second_factor", "result", "success"}, 1},
		{"sesame_auth_attempts_total", []string{"flow", "second_factor", "result", "wrong_code"}, 3},
		{"sesame_auth_attempts_total", []string{"flow", "second_factor", "result", "throttled"}, 1},
		{"sesame_revocations_total", []string{"kind", "session", "cause", "second_factor_failures"}, 1},
		{"sesame_revocations_total", []string{"kind", "session", "cause", "user_blocked"}, 1},
		{"sesame_revocations_total", []string{"kind", "session", "cause", "other"}, 1},
		{"sesame_revocations_total", []string{"kind", "session", "cause", "idle_timeout"}, 1},
		{"sesame_revocations_total", []string{"kind", "refresh_token", "cause", "client"}, 1},
	} {
		if got := sample(t, m, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if strings.Contains(scrape(t, m), "secret") {
		t.Error("an event's free text reached a label")
	}
}

// TestStoreOpAndCollectors: store calls count their errors (not found and
// conflicts are answers), and the view and hashing gate are read at
// scrape time.
func TestStoreOpAndCollectors(t *testing.T) {
	m := New()
	op := m.StoreOp("session_by_id")
	op.Done(time.Now(), nil)
	op.Done(time.Now(), sesame.ErrNotFound)
	op.Done(time.Now(), sesame.ErrConflict)
	op.Done(time.Now(), context.DeadlineExceeded)
	if got := sample(t, m, "sesame_store_call_duration_seconds", "op", "session_by_id"); got != 4 {
		t.Errorf("calls = %v, want 4", got)
	}
	if got := sample(t, m, "sesame_store_call_errors_total", "op", "session_by_id"); got != 1 {
		t.Errorf("errors = %v, want 1", got)
	}
	view := session.ViewStats{Trusted: true, SinceSync: 1500 * time.Millisecond, Cached: 7, Denylisted: 2, Hits: 90, Misses: 10}
	m.WatchSessions(func() session.ViewStats { return view })
	gate := guard.NewHashLimiter(guard.HashConfig{Concurrency: 3})
	m.WatchHashing(gate.Stats)
	for name, want := range map[string]float64{
		"sesame_session_view_trusted":          1,
		"sesame_session_view_feed_lag_seconds": 1.5,
		"sesame_session_view_cached_sessions":  7,
		"sesame_session_view_denylist_size":    2,
		"sesame_password_hash_slots":           3,
		"sesame_password_hash_in_use":          0,
		"sesame_password_hash_queued":          0,
		"sesame_password_hash_rejected_total":  0,
	} {
		if got := sample(t, m, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := sample(t, m, "sesame_session_view_lookups_total", "result", "miss"); got != 10 {
		t.Errorf("misses = %v", got)
	}
	view.Trusted = false
	if got := sample(t, m, "sesame_session_view_trusted"); got != 0 {
		t.Errorf("trusted after the view failed = %v, want 0 (read at scrape time)", got)
	}
}

// scrape serves GET /metrics and parses it with a real parser of the
// exposition format (strict metric names).
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := serve(m.Handler(), "GET", "/metrics")
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("the scrape does not parse: %v", err)
	}
	for _, want := range []string{"go_goroutines", "process_start_time_seconds", "sesame_auth_attempts_total"} {
		if fams[want] == nil {
			t.Errorf("%s missing", want)
		}
	}
	var _ *dto.MetricFamily = fams["go_goroutines"]
	return rec.Body.String()
}

// TestHandlerServesOnlyMetrics: the metrics handler answers /metrics and
// nothing else.
func TestHandlerServesOnlyMetrics(t *testing.T) {
	m := New()
	scrape(t, m)
	if rec := serve(m.Handler(), "GET", "/"); rec.Code != 404 {
		t.Errorf("GET /: %d, want 404", rec.Code)
	}
	if rec := serve(m.Handler(), "POST", "/metrics"); rec.Code != 405 {
		t.Errorf("POST /metrics: %d, want 405", rec.Code)
	}
}

// TestLazyChildrenConcurrent: children resolved on first use (HEAD of a
// GET route) by many requests at once count every request once (run with
// -race).
func TestLazyChildrenConcurrent(t *testing.T) {
	m := New()
	h := m.Middleware(m.Route("GET", "/r", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				serve(h, "HEAD", "/r")
			}
		}()
	}
	for range 8 {
		<-done
	}
	if got := sample(t, m, "sesame_http_requests_total", "route", "/r", "method", "HEAD", "status_class", "2xx"); got != 400 {
		t.Errorf("HEAD count = %v, want 400", got)
	}
}
