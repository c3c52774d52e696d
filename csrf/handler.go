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

// denyMessage is the client-facing message for err: fixed text by stage,
// never anything taken from the request.
func denyMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Stage == StageToken {
		return "missing or invalid CSRF token"
	}
	return "cross-site request refused"
}

func defaultDeny(w http.ResponseWriter, r *http.Request) {
	msg := denyMessage(Rejection(r))
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
	_, _ = w.Write([]byte(`{"error":{"code":"forbidden","message":"` + msg + `"}}` + "\n"))
}
