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

// originCheck refuses cross-origin unsafe requests that could ride on the
// browser's cookies (SEC-36, SEC-38). An unsafe request passes when
// Sec-Fetch-Site is same-origin; otherwise when its Origin exactly matches
// the server's own origin or an allowed one. A request carrying neither
// header passes only when it carries no cookie and is not a form post
// (a non-browser API client): browsers always send one of them, so a cookie
// or form request without both fails closed.
func (s *Server) originCheck(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safeMethod(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		if err := s.checkOrigin(r); err != nil {
			s.emitCSRF(r, err.Error())
			s.writeError(w, r, sesame.Errorf(sesame.EForbidden, "cross-origin request refused"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func (s *Server) checkOrigin(r *http.Request) error {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "same-origin":
		return nil
	case "":
	default:
		if s.originAllowed(r) {
			return nil
		}
		return errors.New("sec-fetch-site " + site)
	}
	if r.Header.Get("Origin") != "" {
		if s.originAllowed(r) {
			return nil
		}
		return errors.New("origin mismatch")
	}
	if len(r.Header.Values("Cookie")) > 0 || isForm(r) {
		return errors.New("no origin information")
	}
	return nil
}

// originAllowed reports whether the Origin header names this server or an
// allowed origin, compared exactly on scheme, host and port.
func (s *Server) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return false
	}
	return o == selfOrigin(r) || s.origins[o]
}

func selfOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") || strings.HasPrefix(ct, "text/plain")
}

func (s *Server) emitCSRF(r *http.Request, reason string) {
	s.audit(r, sesame.Event{Type: sesame.EventCSRFRejected, Reason: reason})
}
