package server_test

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/config"
)

// TestSEC35_RouteWalkWithMetrics walks the whole route table with every
// credential with metrics on (metrics_addr set): the HTTP metrics change
// no answer, and afterwards every route the walk reached is counted under
// its own pattern, never a path.
func TestSEC35_RouteWalkWithMetrics(t *testing.T) {
	cfg := config.Default()
	cfg.DB = filepath.Join(t.TempDir(), "sesame.db")
	cfg.MetricsAddr = "127.0.0.1:0"
	e := newEnvConfig(t, cfg)
	walkRouteTable(t, e, "")
	h := e.app.MetricsHandler()
	if h == nil {
		t.Fatal("no metrics handler")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	counted := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "sesame_http_requests_total{") || strings.HasSuffix(line, " 0") {
			continue
		}
		i := strings.Index(line, `route="`)
		route := line[i+7:]
		route = route[:strings.IndexByte(route, '"')]
		known := route == "other"
		for _, rt := range e.server.Routes() {
			known = known || rt.Pattern == route
		}
		if !known {
			t.Errorf("a series labelled with a route not in the table: %s", line)
		}
		counted[route] = true
	}
	for _, rt := range e.server.Routes() {
		if !counted[rt.Pattern] {
			t.Errorf("route %s %s: the walk's requests were not counted under its pattern", rt.Method, rt.Pattern)
		}
	}
}
