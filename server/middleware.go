package server

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/cookie"
	"github.com/sesame-auth/sesame/session"
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

// jsonOnly answers 415 to an unsafe request under /api/ that carries
// anything but JSON: a Content-Type other than application/json, or a body
// without one. Body-less requests without a Content-Type pass (a DELETE, a
// logout). It runs before the CSRF check (SEC-40): a form or text/plain
// body, which a cross-site page can send without a preflight, reaches no
// JSON endpoint whatever its origin, and a curl user who forgot the header
// is told the real problem instead of "cross-site request refused".
func (s *Server) jsonOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if strings.HasPrefix(r.URL.Path, "/api/") && !jsonOrNoBody(r) {
				s.writeError(w, r, errNotJSON)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

var errNotJSON = sesame.Errorf(sesame.EUnsupported, "Content-Type must be application/json")

func jsonOrNoBody(r *http.Request) bool {
	ct := r.Header.Values("Content-Type")
	if len(ct) == 0 {
		return r.ContentLength == 0 // chunked (-1) or a body: not JSON
	}
	if len(ct) > 1 {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct[0])
	return err == nil && mt == "application/json"
}

func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") || strings.HasPrefix(ct, "text/plain")
}

// publicHost is the parsed Config.PublicURL and AllowedHosts.
type publicHost struct {
	scheme  string          // "http" or "https"
	host    string          // the public host[:port], as in the URL
	allowed map[string]bool // canonical Host values answered: the public one and AllowedHosts
}

// parsePublic checks and parses the public URL and allowed hosts; nil, nil
// when publicURL is empty.
func parsePublic(publicURL string, allowedHosts []string) (*publicHost, error) {
	if publicURL == "" {
		if len(allowedHosts) > 0 {
			return nil, errors.New("AllowedHosts needs a PublicURL")
		}
		return nil, nil
	}
	u, err := url.Parse(publicURL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("PublicURL %q is not a URL", publicURL)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("PublicURL %q: the scheme must be http or https", publicURL)
	case u.Host == "" || u.Opaque != "" || u.User != nil || !validHost(u.Host):
		return nil, fmt.Errorf("PublicURL %q: want scheme://host[:port]", publicURL)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("PublicURL %q: a path, query or fragment is not allowed: give the origin only", publicURL)
	}
	p := &publicHost{scheme: u.Scheme, host: u.Host, allowed: map[string]bool{canonicalHost(u.Scheme, u.Host): true}}
	for _, h := range allowedHosts {
		if !validHost(h) {
			return nil, fmt.Errorf("AllowedHosts: %q is not a host or host:port", h)
		}
		p.allowed[canonicalHost(u.Scheme, h)] = true
	}
	return p, nil
}

// validHost accepts a host[:port] as a Host header carries it: a DNS name,
// an IPv4 address or a bracketed IPv6 address, and an optional port.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// canonicalHost lowercases host and drops the scheme's default port.
func canonicalHost(scheme, host string) string {
	host = strings.ToLower(host)
	if scheme == "https" {
		return strings.TrimSuffix(host, ":443")
	}
	return strings.TrimSuffix(host, ":80")
}

var errMisdirected = sesame.Errorf(sesame.EMisdirected, "this server does not answer for that host name")

// hostCheck, once a public URL is configured, refuses with 421 every
// request whose Host is neither the public host nor an allowed host
// (SEC-63), so that a DNS-rebinding page (its own name resolving to this
// server) reaches no handler. The answer is always the API's JSON error.
// An accepted request goes on with its Host set to the public host, so
// that the CSRF origin check compares against the public origin.
func (s *Server) hostCheck(next http.Handler) http.Handler {
	p := s.public
	if p == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !validHost(r.Host) || !p.allowed[canonicalHost(p.scheme, r.Host)] {
			session.WriteJSONError(w, r, errMisdirected)
			return
		}
		if r.Host != p.host {
			r = r.WithContext(r.Context()) // a shallow copy
			r.Host = p.host
		}
		next.ServeHTTP(w, r)
	})
}
