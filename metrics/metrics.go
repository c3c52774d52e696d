package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "sesame"

// Metrics holds one node's metrics in a private registry (never the
// global default one). Build it with [New], give its hooks to the
// components (Server's RequestMetrics, [Metrics.Events], [Metrics.StoreOp],
// [Metrics.WatchSessions], [Metrics.WatchHashing]) and serve
// [Metrics.Handler] on a separate listener. Its methods are safe for
// concurrent use.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	http  *httpMetrics
	auth  *prometheus.CounterVec // flow, result
	revok *prometheus.CounterVec // kind, cause

	storeDuration *prometheus.HistogramVec // op
	storeErrors   *prometheus.CounterVec   // op
}

// New returns metrics in a new private registry, with the Go runtime and
// process collectors registered.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.http = newHTTPMetrics(reg)
	m.auth = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "auth_attempts_total",
		Help: "Password and token attempts by flow (login, signup, refresh, reauth, second_factor) and result, from the audit events.",
	}, []string{"flow", "result"})
	m.revok = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "revocations_total",
		Help: "Sessions and refresh tokens ended, by kind (session, refresh_token) and cause, from the audit events.",
	}, []string{"kind", "cause"})
	m.storeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "store_call_duration_seconds",
		Help:    "Latency of store calls by operation, errors included.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"op"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "store_call_errors_total",
		Help: "Store calls that could not be answered, by operation (not found and lost version races are answers, not errors).",
	}, []string{"op"})
	reg.MustRegister(m.auth, m.revok, m.storeDuration, m.storeErrors)
	m.initAuth()
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	return m
}

// Registry is the private registry, for a caller that adds collectors of
// its own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format at GET
// /metrics (HEAD too); every other path is 404. Serve it on its own
// listener only: never on the public one.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.handler)
	return mux
}
