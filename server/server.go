// Package server is the HTTP server behind `sesame serve`: sign-up, login,
// account and admin pages, and the JSON API, over a session manager and a
// user store.
package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/session"
)

// Config configures a [Server]. Zero values are the secure defaults given in
// the comments.
type Config struct {
	// Accounts performs sign-up, login and blocking. Required.
	Accounts *account.Service
	// Sessions is the session manager. Required.
	Sessions *session.Manager
	// Logger receives operational logs and audit events. Default
	// slog.Default().
	Logger *slog.Logger
	// AllowedOrigins are extra origins (scheme://host[:port]) whose
	// cross-origin unsafe requests are accepted. Default none: only the
	// server's own origin.
	AllowedOrigins []string
	// Events receives audit events raised by the HTTP layer (login
	// success and failure, CSRF rejections). Default none. Pass the same
	// sink to the session manager and the account service.
	Events sesame.EventSink
	// TLS tells the server it is reached over HTTPS, which adds HSTS.
	TLS bool
	// MaxBodyBytes bounds request bodies. Default 64 KiB.
	MaxBodyBytes int64
}

// Server serves Sesame's pages and API. It is safe for concurrent use.
type Server struct {
	cfg      Config
	accounts *account.Service
	sessions *session.Manager
	log      *slog.Logger
	pages    *pages
	handler  http.Handler
	origins  map[string]bool
}

// New returns a server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, accounts: cfg.Accounts, sessions: cfg.Sessions, log: cfg.Logger, pages: p,
		origins: make(map[string]bool)}
	for _, o := range cfg.AllowedOrigins {
		s.origins[o] = true
	}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// user returns the user of the request's session, or an error: 401 when
// there is no session or the user is gone or blocked.
func (s *Server) user(ctx context.Context) (*sesame.User, *sesame.Session, error) {
	sess := session.Current(ctx)
	if sess == nil {
		return nil, nil, errUnauthenticated
	}
	u, err := s.accounts.Users.UserByID(ctx, sess.UserID)
	if err != nil {
		if sesame.ErrorCode(err) == sesame.ENotFound {
			return nil, nil, errUnauthenticated
		}
		return nil, nil, sesame.Wrap(sesame.EUnavailable, err, "user store unavailable")
	}
	if u.Blocked {
		return nil, nil, errUnauthenticated
	}
	return u, sess, nil
}

var (
	errUnauthenticated = sesame.Errorf(sesame.EUnauthenticated, "authentication required")
	errForbidden       = sesame.Errorf(sesame.EForbidden, "forbidden")
	errNotFound        = sesame.Errorf(sesame.ENotFound, "not found")
)
