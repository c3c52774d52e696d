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

	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/server"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

func init() { register("serve", "run the Sesame server", runServe) }

const serveHelp = `
Runs the Sesame auth server: sign-up, login, account and admin pages and the
JSON API, on an embedded SQLite database (created on first start).

Every flag can also be set from the environment as SESAME_<FLAG>, with
dashes as underscores (SESAME_ADDR, SESAME_DB, SESAME_INSECURE_COOKIES...);
the command line wins.

Plain HTTP is allowed on loopback addresses (browsers accept Secure cookies
from http://localhost). Anywhere else, serve TLS (--tls-cert, --tls-key) or,
for development only, pass --insecure-cookies.`

type serveFlags struct {
	addr, db, tlsCert, tlsKey, origins, logFormat, logLevel string
	keyFile, issuer, trustedProxies, sessions               string
	insecureCookies                                         bool
	idle, life, rememberIdle, rememberLife, grace           time.Duration
	accessTTL                                               time.Duration
}

func runServe(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "serve", "sesame serve [flags]", serveHelp)
	var f serveFlags
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address host:port (port 0 picks a free port)")
	sf := addStoreFlags(fs)
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate file (PEM); serve HTTPS with --tls-key")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	fs.BoolVar(&f.insecureCookies, "insecure-cookies", false, "allow plain HTTP on a non-loopback address: cookies lose Secure and the __Host- prefix (development only)")
	fs.StringVar(&f.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs or IPs of reverse proxies whose X-Forwarded-For is trusted for the client IP (default none: the peer address)")
	fs.StringVar(&f.origins, "allowed-origins", "", "comma-separated extra origins (scheme://host[:port]) allowed to make cross-origin unsafe requests")
	fs.DurationVar(&f.idle, "idle-timeout", 30*time.Minute, "session idle timeout")
	fs.DurationVar(&f.life, "lifetime", 12*time.Hour, "session absolute lifetime")
	fs.DurationVar(&f.rememberIdle, "remember-idle-timeout", 7*24*time.Hour, "idle timeout of \"remember me\" sessions")
	fs.DurationVar(&f.rememberLife, "remember-lifetime", 30*24*time.Hour, "absolute lifetime of \"remember me\" sessions (at most 400 days)")
	fs.DurationVar(&f.grace, "renew-grace", 10*time.Second, "how long a session's previous token stays valid after renewal (0 disables)")
	fs.StringVar(&f.issuer, "issuer", "", "iss (and default aud) of access tokens (default: the server's URL as printed at start)")
	fs.DurationVar(&f.accessTTL, "access-token-ttl", 15*time.Minute, "access-token lifetime (at most 1h)")
	keyFile := masterKeyFileFlag(fs)
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := applyEnv(fs); err != nil {
		return err
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("serve takes no arguments, got %q", fs.Arg(0))
	}
	f.db, f.sessions, f.keyFile = *sf.db, *sf.sessions, *keyFile
	return serve(ctx, env, f)
}

func serve(ctx context.Context, env *Env, f serveFlags) error {
	logger, err := newLogger(env.Stderr, f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	useTLS := f.tlsCert != "" || f.tlsKey != ""
	if useTLS && (f.tlsCert == "" || f.tlsKey == "") {
		return usageError("--tls-cert and --tls-key go together")
	}
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return usageError("--addr %q: want host:port (for example 127.0.0.1:8080)", f.addr)
	}
	if !useTLS && !f.insecureCookies && !isLoopback(f.addr) {
		return usageError("refusing to serve plain HTTP on %s: browsers drop Secure cookies there. Use --tls-cert/--tls-key, a loopback address, or --insecure-cookies (development only)", f.addr)
	}
	proxies, err := guard.ParsePrefixes(f.trustedProxies)
	if err != nil {
		return usageError("--trusted-proxies: %v", err)
	}
	if f.insecureCookies {
		logger.Warn("INSECURE COOKIES: session cookies are sent without Secure and can be read by anyone on the network; never use this in production")
	}
	grace := f.grace
	if grace == 0 {
		grace = -1
	}
	st, err := openStack(ctx, storeFlags{db: &f.db, sessions: &f.sessions}, session.Config{
		InsecureCookie: f.insecureCookies && !useTLS,
		IdleTimeout:    f.idle, Lifetime: f.life,
		RememberIdleTimeout: f.rememberIdle, RememberLifetime: f.rememberLife,
		RenewGrace: grace,
	}, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	st.sessions.Start(runCtx)
	st.runBackground(runCtx)

	ring, master, err := openKeyringAndMaster(ctx, st, f.db, f.keyFile, keyring.Config{MaxTokenLifetime: f.accessTTL, Logger: logger})
	if err != nil {
		return err
	}
	ring.Start(runCtx)
	st.accounts.Hasher.Dummy("warm-up") // builds the dummy hash now, so the first unknown-user login costs what the others do

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return failure("listen on %s: %v", f.addr, err)
	}
	defer ln.Close()
	url := publicURL(ln.Addr().(*net.TCPAddr), useTLS)
	issuer := f.issuer
	if issuer == "" {
		issuer = url
	}
	audit := server.AuditLog{Logger: logger}
	tokens, err := token.New(token.Config{Issuer: issuer, AccessTTL: f.accessTTL, Keys: ring,
		SuccessorKey: master.Derive("refresh successor", 32), Store: st.state, Sessions: st.sessions,
		Events: audit, Logger: logger})
	if err != nil {
		return usageError("%v", err)
	}
	srv, err := server.New(server.Config{Accounts: st.accounts, Sessions: st.sessions, Tokens: tokens, JWKS: ring.JWKS,
		CSRFKey: master.Derive("csrf", 32), Logger: logger, Events: audit, AllowedOrigins: splitList(f.origins), TLS: useTLS,
		Throttle: guard.NewLimiter(st.state, guard.Config{}), ClientIPs: guard.IPResolver{TrustedProxies: proxies}})
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if useTLS {
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	fmt.Fprintf(env.Stdout, "sesame listening on %s\n", url)
	logger.Info("sesame started", "addr", ln.Addr().String(), "url", url, "db", f.db, "issuer", issuer)

	errc := make(chan error, 1)
	go func() {
		if useTLS {
			errc <- hs.ServeTLS(ln, f.tlsCert, f.tlsKey)
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

// isLoopback reports whether addr's host is a loopback address or
// localhost (where browsers treat plain HTTP as a secure context).
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// publicURL is the URL to print: loopback and all-interfaces addresses are
// printed as localhost, which every browser treats as a secure context.
func publicURL(a *net.TCPAddr, useTLS bool) string {
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
