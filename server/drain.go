package server

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/sesame-auth/sesame"
)

// drainState is the server's part in a graceful shutdown: whether it is
// draining (GET /healthz answers 503), and whether its revocation streams
// were ended.
type drainState struct {
	draining atomic.Bool

	once  sync.Once
	ended chan struct{} // closed by EndStreams
	mu    sync.Mutex
}

// endedCh returns the channel EndStreams closes.
func (d *drainState) endedCh() chan struct{} {
	d.once.Do(func() { d.ended = make(chan struct{}) })
	return d.ended
}

// streamsEnded reports whether EndStreams was called.
func (d *drainState) streamsEnded() bool {
	select {
	case <-d.endedCh():
		return true
	default:
		return false
	}
}

// Drain marks the server as draining, for a graceful shutdown: from now on
// GET /healthz (readiness) answers 503 {"status":"draining"}, so that load
// balancers stop sending the node new requests, while every other endpoint
// (GET /livez included: the process is alive) keeps serving. It is
// idempotent and safe for concurrent use; there is no way back.
//
// The order of a graceful shutdown (what `sesame serve` does on SIGTERM):
// Drain; optionally keep serving while the load balancer's health checks
// notice; http.Server.Shutdown, with EndStreams registered through
// http.Server.RegisterOnShutdown so that long-lived revocation streams do
// not hold it; then stop the background work and close the stores. A
// caller that wants clients on keep-alive connections to move elsewhere
// during the wait can answer each request with "Connection: close" while
// [Server.Draining] holds.
func (s *Server) Drain() {
	if s.drain.draining.CompareAndSwap(false, true) {
		s.log.Info("draining: GET /healthz now answers 503")
	}
}

// Draining reports whether [Server.Drain] was called.
func (s *Server) Draining() bool { return s.drain.draining.Load() }

// EndStreams ends every open revocation stream (GET
// /api/v1/revocations/stream) at its next step, within milliseconds, and
// refuses new ones with 503 and Retry-After: its clients (package verify)
// reconnect, through the load balancer, to a node that is not going away,
// resuming from their position (nothing is missed). A stream never ends on
// its own, so without it http.Server.Shutdown would wait for its whole
// bound. It implies [Server.Drain]. Register it with
// http.Server.RegisterOnShutdown; it is idempotent.
func (s *Server) EndStreams() {
	s.Drain()
	s.drain.mu.Lock()
	defer s.drain.mu.Unlock()
	if !s.drain.streamsEnded() {
		close(s.drain.endedCh())
	}
}

// streamsDone is closed when the revocation streams must end.
func (s *Server) streamsDone() <-chan struct{} { return s.drain.endedCh() }

// errStreamsEnded refuses a revocation stream on a node that is shutting
// down.
var errStreamsEnded = sesame.Errorf(sesame.EUnavailable, "this node is shutting down: reconnect (to another node), or poll /api/v1/revocations")

// drainingHealth answers GET /healthz on a draining server: 503, at once,
// without touching a store.
func drainingHealth(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
}
