package app

import "time"

// closeWait bounds how long Close waits for the background work to stop
// (each piece returns within milliseconds of its context ending; a
// back-channel delivery in flight gives its claim back first) before it
// closes the stores anyway.
const closeWait = 5 * time.Second

// Drain marks the node as draining, the first step of a graceful shutdown:
// GET /healthz answers 503 at once, so that load balancers stop sending it
// new requests, while everything else (requests, background work, stores)
// goes on. Then stop the HTTP server (http.Server.Shutdown, with
// Server().EndStreams registered through RegisterOnShutdown) and call
// Close once it has returned: requests in flight still reach the stores
// and see revocations until they are done. A command (no server) has
// nothing to drain.
func (a *App) Drain() {
	if a.server != nil {
		a.server.Drain()
	}
}

// spawn runs f in a goroutine of the background work: Close ends its
// context and waits for it (up to closeWait) before it closes the stores,
// so that what it was writing is written. Call it from Start only (under
// a.mu, before Close).
func (a *App) spawn(f func()) {
	a.done.Add(1)
	go func() {
		defer a.done.Done()
		f()
	}()
}

// waitWorkers waits for the goroutines started by spawn, up to closeWait.
func (a *App) waitWorkers() {
	stopped := make(chan struct{})
	go func() {
		a.done.Wait()
		close(stopped)
	}()
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		a.logger.Warn("app: background work still running after the shutdown bound; closing the stores anyway", "bound", closeWait)
	}
}
