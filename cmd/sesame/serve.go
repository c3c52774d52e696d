package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/server"
)

func init() { register("serve", "run the Sesame server", runServe) }

const serveHelp = `
Runs the Sesame auth server: sign-up, login, account and admin pages and the
JSON API, on an embedded SQLite database (created on first start).

Every flag is also a key of the configuration file (--config FILE, or
SESAME_CONFIG), spelled with underscores (idle_timeout), and an environment
variable SESAME_<KEY> (SESAME_ADDR, SESAME_DB, SESAME_INSECURE_COOKIES...).
A flag wins over the environment, which wins over the file, which wins over
the preset (--preset web, spa, api or strict), which wins over the default.
"sesame config check" prints the effective configuration and where each
value comes from.

Plain HTTP is allowed on loopback addresses (browsers accept Secure cookies
from http://localhost). Anywhere else, serve TLS (--tls-cert, --tls-key),
sit behind a TLS proxy with --public-url https://..., or, for development
only, pass --insecure-cookies. Nodes of one deployment share one
configuration: the same public_url, database, sessions store and master key.

Before it creates any file or prints "listening", serve checks the
configuration and the TLS files and binds its address: a failed start
leaves nothing behind.

On SIGTERM or SIGINT serve shuts down gracefully: GET /healthz answers 503
at once (GET /livez stays 200) and every response closes its connection;
it keeps serving for shutdown_delay (default 0s), so that a load
balancer's health checks notice, then closes its listener and lets the
requests in flight finish within shutdown_timeout (default 10s).
Connections still open then are cut, and serve exits 1; otherwise it stops
its background work, closes the stores and exits 0. A second signal exits
at once (exit 1).

With --metrics-addr, Prometheus metrics are served at GET /metrics on that
address only, in plain HTTP (keep it on an internal network), never on
the public listener; it keeps answering during a shutdown and closes
last.`

func runServe(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "serve", "sesame serve [flags]", serveHelp)
	flags := config.AddFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("serve takes no arguments, got %q", fs.Arg(0))
	}
	cfg, err := config.Load(config.Sources{Flags: flags, Role: config.RoleServe})
	if err != nil {
		return deployError(nil, err)
	}
	return serve(ctx, env, cfg)
}

func serve(ctx context.Context, env *Env, cfg *config.Config) error {
	logger := newLogger(env.Stderr, cfg.LogFormat, cfg.LogLevel)
	// The first SIGTERM or SIGINT ends ctx (main) and starts the graceful
	// shutdown; serve watches the signals itself too, from before it
	// prints "listening", so that a second one exits at once.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	useTLS := cfg.TLSCert != ""
	var tlsConfig *tls.Config
	if useTLS {
		pair, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return failure("tls_cert, tls_key: %v", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return failure("listen on %s: %v", cfg.Addr, err)
	}
	defer ln.Close()
	var mln net.Listener // metrics_addr: Prometheus metrics, on a listener of their own
	if cfg.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return failure("listen on %s (metrics_addr): %v", cfg.MetricsAddr, err)
		}
		defer mln.Close()
	}
	url := printedURL(ln.Addr().(*net.TCPAddr), useTLS)
	if cfg.PublicURL == "" {
		deriveLoopbackURL(cfg, ln.Addr().(*net.TCPAddr), url)
	}
	if cfg.InsecureCookies {
		logger.Warn("INSECURE COOKIES: session cookies are sent without Secure and can be read by anyone on the network; never use this in production")
	}
	a, err := app.New(ctx, cfg, app.WithLogger(logger))
	if err != nil {
		return deployError(cfg, err)
	}
	// The background work (view sync, key refresh, cleanup, back-channel
	// logout) outlives ctx, which ends with the first signal: requests
	// still in flight during the shutdown see revocations and key changes.
	// It stops in a.Close, once HTTP is drained.
	a.Start(context.WithoutCancel(ctx))

	conns := &connTracker{}
	hs := &http.Server{
		Handler:           closeWhileDraining(a.Server(), a.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
		ConnState:         conns.track,
	}
	hs.RegisterOnShutdown(a.Server().EndStreams) // revocation streams never end on their own
	var ms *http.Server
	if mln != nil {
		if h := a.MetricsHandler(); h != nil {
			ms = &http.Server{
				Handler:           h,
				ReadHeaderTimeout: 10 * time.Second,
				ReadTimeout:       30 * time.Second,
				WriteTimeout:      30 * time.Second,
				IdleTimeout:       2 * time.Minute,
				ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
			}
		} else {
			mln.Close()
			mln = nil
		}
	}
	if ms != nil { // logged before "listening", so that it is there once that is
		logger.Info("sesame metrics listening", "addr", mln.Addr().String(), "path", "/metrics")
	}
	fmt.Fprintf(env.Stdout, "sesame listening on %s\n", url)
	logger.Info("sesame started", "addr", ln.Addr().String(), "url", url, "public_url", a.Config().PublicURL,
		"db", cfg.Redact(cfg.DB), "sessions", cfg.Redact(cfg.Sessions), "issuer", a.Config().EffectiveIssuer())

	errc := make(chan error, 2)
	go func() {
		if useTLS {
			errc <- hs.ServeTLS(ln, "", "")
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	if ms != nil {
		go func() {
			if err := ms.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics_addr %s: %w", mln.Addr(), err)
			}
		}()
	}
	var cause string
	select {
	case err := <-errc: // a listener failed: no graceful shutdown to make
		hs.Close()
		if ms != nil {
			ms.Close()
		}
		a.Close()
		return failure("serve: %v", err)
	case <-ctx.Done():
		cause = context.Cause(ctx).Error()
		select {
		case <-sigs: // the signal that ended ctx, if one did
		default:
		}
	case s := <-sigs:
		cause = s.String() + " signal received"
	}
	sd := &shutdown{cfg: cfg, logger: logger, app: a, hs: hs, ms: ms, conns: conns}
	done := make(chan error, 1)
	go func() { done <- sd.run(cause) }()
	select {
	case err := <-done:
		return err
	case s := <-sigs:
		n := conns.open()
		logger.Error("sesame: second signal: exiting at once, without finishing the shutdown", "signal", s.String(), "open_connections", n)
		return failure("second %s signal: exited at once, without finishing the shutdown (%d connections open)", s, n)
	}
}

// shutdown is serve's graceful shutdown, after the first signal.
type shutdown struct {
	cfg    *config.Config
	logger *slog.Logger
	app    *app.App
	hs     *http.Server
	ms     *http.Server // the metrics listener's, or nil: shut down last
	conns  *connTracker
}

// run drains the node (GET /healthz 503), keeps serving for
// shutdown_delay, closes the listener and waits up to shutdown_timeout for
// the requests in flight (revocation streams end at once), cuts the
// connections still open then, and finally stops the background work and
// closes the stores; the metrics listener, which answers throughout, is
// shut down last. It fails (exit 1) when it had to cut connections or
// a store did not close cleanly.
func (sd *shutdown) run(cause string) error {
	log, cfg := sd.logger, sd.cfg
	sd.app.Drain()
	log.Info("sesame draining: GET /healthz answers 503; still serving", "cause", cause,
		"shutdown_delay", cfg.ShutdownDelay.String(), "shutdown_timeout", cfg.ShutdownTimeout.String(), "open_connections", sd.conns.open())
	if cfg.ShutdownDelay > 0 {
		time.Sleep(cfg.ShutdownDelay)
	}
	sd.hs.RegisterOnShutdown(func() { // Shutdown runs it once the listener is closed
		log.Info("sesame stopping: listener closed; waiting for the requests in flight", "open_connections", sd.conns.open(),
			"shutdown_timeout", cfg.ShutdownTimeout.String())
	})
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	err := sd.hs.Shutdown(ctx)
	cancel()
	cut := 0
	if err != nil {
		cut = sd.conns.open()
		sd.hs.Close()
		log.Error("sesame: connections still open after shutdown_timeout were cut", "cut", cut,
			"shutdown_timeout", cfg.ShutdownTimeout.String(), "err", err)
	}
	closeErr := sd.app.Close() // after HTTP: requests in flight could still use the stores
	if closeErr != nil {
		log.Error("sesame: closing the stores failed", "err", closeErr)
	}
	if sd.ms != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second) // a scrape takes milliseconds
		if sd.ms.Shutdown(ctx) != nil {
			sd.ms.Close()
		}
		cancel()
	}
	switch {
	case cut > 0 || err != nil:
		return failure("shutdown: %d connection(s) still open after shutdown_timeout (%s) were cut", cut, cfg.ShutdownTimeout)
	case closeErr != nil:
		return failure("shutdown: closing the stores: %v", closeErr)
	}
	log.Info("sesame stopped")
	return nil
}

// closeWhileDraining answers every request of a draining server with
// "Connection: close", so that clients on keep-alive connections open new
// ones, which the load balancer sends to other nodes. It decides when the
// response starts, not when the request came: a request that began
// before the drain and ends during it closes its connection too, so no
// keep-alive connection is left idle for Shutdown to close under a
// client's next request.
func closeWhileDraining(srv *server.Server, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if srv.Draining() {
			w.Header().Set("Connection", "close")
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&closingWriter{ResponseWriter: w, srv: srv}, r)
	})
}

// closingWriter adds "Connection: close" to a response that starts while
// the server is draining.
type closingWriter struct {
	http.ResponseWriter
	srv   *server.Server
	wrote bool
}

func (c *closingWriter) WriteHeader(code int) {
	if !c.wrote && code >= 200 { // 1xx answers may come first
		c.wrote = true
		if c.srv.Draining() {
			c.Header().Set("Connection", "close")
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *closingWriter) Write(b []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

// Flush lets handlers that flush (the revocation stream) do so through
// the wrapper; http.ResponseController finds the rest through Unwrap.
func (c *closingWriter) Flush() {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(c.ResponseWriter).Flush()
}

func (c *closingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// connTracker counts the server's connections that are not idle (reading
// or answering a request), for the shutdown's log.
type connTracker struct {
	mu    sync.Mutex
	conns map[net.Conn]http.ConnState
}

func (c *connTracker) track(conn net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conns == nil {
		c.conns = map[net.Conn]http.ConnState{}
	}
	switch st {
	case http.StateHijacked, http.StateClosed:
		delete(c.conns, conn)
	default:
		c.conns[conn] = st
	}
}

// open is how many connections are new or active (not idle).
func (c *connTracker) open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, st := range c.conns {
		if st != http.StateIdle {
			n++
		}
	}
	return n
}

// deriveLoopbackURL sets the public URL of a server without one: the
// printed URL. On a loopback address the server then answers only for
// localhost and its loopback addresses, so that a DNS-rebinding page (whose
// requests carry its own host name) reaches nothing (SEC-63). On another
// address (--insecure-cookies, development) it answers any Host, as
// before.
func deriveLoopbackURL(cfg *config.Config, a *net.TCPAddr, url string) {
	cfg.PublicURL = url
	cfg.SetSource("public_url", config.Source{Kind: config.FromListener})
	if !a.IP.IsLoopback() {
		return
	}
	port := fmt.Sprint(a.Port)
	scheme := "http://"
	if url[:5] == "https" {
		scheme = "https://"
	}
	for _, h := range []string{"127.0.0.1:" + port, "[::1]:" + port} {
		cfg.AllowedHosts = append(cfg.AllowedHosts, h)
		cfg.AllowedOrigins = append(cfg.AllowedOrigins, scheme+h)
	}
}

// printedURL is the URL to print: loopback and all-interfaces addresses
// are printed as localhost, which every browser treats as a secure context.
func printedURL(a *net.TCPAddr, useTLS bool) string {
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	host := a.IP.String()
	if a.IP.IsLoopback() || a.IP.IsUnspecified() {
		host = "localhost" // reachable from this machine either way
	} else if a.IP.To4() == nil {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("%s://%s:%d", scheme, host, a.Port)
}
