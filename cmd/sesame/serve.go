package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
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
leaves nothing behind.`

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
	defer a.Close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.Start(runCtx)

	hs := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	fmt.Fprintf(env.Stdout, "sesame listening on %s\n", url)
	logger.Info("sesame started", "addr", ln.Addr().String(), "url", url, "public_url", a.Config().PublicURL,
		"db", cfg.Redact(cfg.DB), "sessions", cfg.Redact(cfg.Sessions), "issuer", a.Config().EffectiveIssuer())

	errc := make(chan error, 1)
	go func() {
		if useTLS {
			errc <- hs.ServeTLS(ln, "", "")
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return failure("serve: %v", err)
		}
		return nil
	case <-ctx.Done():
	}
	shutCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	logger.Info("sesame shutting down")
	return hs.Shutdown(shutCtx)
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
