package csrf

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

type rejectionKey struct{}

// Handler returns h protected by [Protection.Check]: a request that passes
// goes to h; one that fails goes to [Config.OnReject], if set, and then to
// [Config.DenyHandler], and never reaches h.
func (p *Protection) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := p.Check(r)
		if err == nil {
			h.ServeHTTP(w, r)
			return
		}
		if p.onReject != nil {
			p.onReject(r, err)
		}
		p.deny.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), rejectionKey{}, err)))
	})
}

// Rejection returns the error for which [Protection.Handler] refused r, for
// use in a [Config.DenyHandler]; nil outside one.
func Rejection(r *http.Request) error {
	err, _ := r.Context().Value(rejectionKey{}).(error)
	return err
}

// DenyCode and DenyMessage are the client-facing error code and message for
// err: fixed text by stage ("csrf_origin" or "csrf_token"), never anything
// taken from the request, and no more detail than which check failed.
func DenyCode(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Stage == StageToken {
		return "csrf_token"
	}
	return "csrf_origin"
}

// DenyMessage: see [DenyCode].
func DenyMessage(err error) string {
	if DenyCode(err) == "csrf_token" {
		return "missing or invalid CSRF token"
	}
	return "cross-site request refused"
}

func defaultDeny(w http.ResponseWriter, r *http.Request) {
	msg := DenyMessage(Rejection(r))
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("<!doctype html>\n<title>Forbidden</title>\n<h1>Forbidden</h1>\n<p>" + msg +
			". Go back, reload the page and try again.</p>\n"))
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte(`{"error":{"code":"` + DenyCode(Rejection(r)) + `","message":"` + msg + `"}}` + "\n"))
}
