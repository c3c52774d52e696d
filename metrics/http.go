package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The method label's values: the known methods, and "other" for any
// other (a client may send any token as a method).
var methods = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"}

const methodOther = len(methods) - 1

func methodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "POST":
		return 2
	case "PUT":
		return 3
	case "DELETE":
		return 4
	case "PATCH":
		return 5
	case "OPTIONS":
		return 6
	}
	return methodOther
}

// The status classes.
var classes = [...]string{"2xx", "3xx", "4xx", "5xx"}

func classIndex(code int) int {
	switch {
	case code < 300:
		return 0 // 1xx never ends a response; net/http refuses codes under 100
	case code < 400:
		return 1
	case code < 500:
		return 2
	}
	return 3
}

// RouteOther is the route label of a request no route took (a 404, a
// 405, a request refused before routing).
const RouteOther = "other"

type httpMetrics struct {
	requests *prometheus.CounterVec   // route, method, status_class
	duration *prometheus.HistogramVec // route, method

	mu     sync.Mutex
	routes map[string]*routeMetrics // by pattern, built at startup
	other  *routeMetrics
}

// routeMetrics holds one route's label children, resolved once per
// method, so that a request only loads a pointer and indexes an array.
// The route's registered method is resolved at startup; another (HEAD of a
// GET route, any method of the forward-auth route or of "other") when first
// seen.
type routeMetrics struct {
	pattern string
	methods [len(methods)]atomic.Pointer[methodMetrics]
}

type methodMetrics struct {
	requests [len(classes)]prometheus.Counter
	duration prometheus.Observer
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	h := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by route pattern (\"other\": no route), method and status class.",
		}, []string{"route", "method", "status_class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "HTTP request latency, from the first handler to the handler's return, by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		routes: map[string]*routeMetrics{},
	}
	reg.MustRegister(h.requests, h.duration)
	h.other = h.route(RouteOther, "GET", "POST")
	return h
}

// route returns the metrics of pattern, resolving the children of the
// given methods.
func (h *httpMetrics) route(pattern string, ms ...string) *routeMetrics {
	h.mu.Lock()
	rm := h.routes[pattern]
	if rm == nil {
		rm = &routeMetrics{pattern: pattern}
		h.routes[pattern] = rm
	}
	h.mu.Unlock()
	for _, m := range ms {
		h.resolve(rm, methodIndex(m))
	}
	return rm
}

// resolve returns the children of rm for method index mi, creating them
// once.
func (h *httpMetrics) resolve(rm *routeMetrics, mi int) *methodMetrics {
	if mm := rm.methods[mi].Load(); mm != nil {
		return mm
	}
	mm := &methodMetrics{duration: h.duration.WithLabelValues(rm.pattern, methods[mi])}
	for c := range classes {
		mm.requests[c] = h.requests.WithLabelValues(rm.pattern, methods[mi], classes[c])
	}
	if !rm.methods[mi].CompareAndSwap(nil, mm) {
		return rm.methods[mi].Load() // another request resolved them first: the same children
	}
	return mm
}

func (h *httpMetrics) observe(rm *routeMetrics, method string, code int, d time.Duration) {
	mi := methodIndex(method)
	mm := rm.methods[mi].Load()
	if mm == nil {
		mm = h.resolve(rm, mi)
	}
	mm.requests[classIndex(code)].Inc()
	mm.duration.Observe(d.Seconds())
}

// Route returns h wrapped to label its requests with pattern, the route's
// registered net/http pattern (never the request's path). The server
// calls it once per route of its table at startup, with the route's
// method; method "" is a route answering any method, whose children
// other than GET's are resolved when first seen. It implements
// server.RequestMetrics.
func (m *Metrics) Route(method, pattern string, h http.Handler) http.Handler {
	if method == "" {
		method = "GET"
	}
	rm := m.http.route(pattern, method)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rec := findRecorder(w); rec != nil {
			rec.route = rm
		}
		h.ServeHTTP(w, r)
	})
}

// Middleware returns next wrapped to count every request and time it. It
// must be the outermost handler, so that answers given before routing
// (421, 431, 413, 503, a recovered panic's 500) are counted, under route
// "other". Per request it allocates only the status-capturing writer. It
// implements server.RequestMetrics.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, route: m.http.other}
		next.ServeHTTP(rec, r)
		code := rec.code
		if code == 0 {
			code = http.StatusOK // nothing written: net/http answers 200
		}
		m.http.observe(rec.route, r.Method, code, time.Since(start))
	})
}

// recorder captures the status code and carries the route label from the
// route's wrapper (found through Unwrap) back to [Metrics.Middleware].
type recorder struct {
	http.ResponseWriter
	code  int
	route *routeMetrics
}

func (rec *recorder) WriteHeader(code int) {
	if rec.code == 0 && code >= 200 {
		rec.code = code // 1xx are informational: the final code comes later
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	return rec.ResponseWriter.Write(p)
}

// Flush flushes the underlying writer if it can (a streaming response).
func (rec *recorder) Flush() {
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	_ = http.NewResponseController(rec.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// findRecorder follows w's Unwrap chain to the recorder, or nil.
func findRecorder(w http.ResponseWriter) *recorder {
	for range 16 { // a bound: wrappers are few
		switch t := w.(type) {
		case *recorder:
			return t
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return nil
		}
	}
	return nil
}
