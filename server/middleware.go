package server

import (
	"errors"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/cookie"
)

// recoverer turns a panic into a logged 500, never a dropped connection with
// a stack trace sent to the client.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			s.writeError(w, r, sesame.Errorf(sesame.EInternal, "internal error"))
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers every response carries, errors included
// (SEC-49 to SEC-51).
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if s.cfg.TLS {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// limits refuses oversized Cookie headers (431) and bounds request bodies
// (413 when a handler reads past the limit).
func (s *Server) limits(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cookie.CheckHeaderSize(r) != nil {
			s.writeError(w, r, sesame.Errorf(sesame.EHeaderTooLarge, "cookie header too large"))
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			s.writeError(w, r, errBodyTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

var errBodyTooLarge = sesame.Errorf(sesame.ETooLarge, "request body too large")

// isBodyTooLarge reports whether err came from reading past the body limit.
func isBodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") || strings.HasPrefix(ct, "text/plain")
}
