package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/sesame-auth/sesame"
)

// maxFormBytes bounds the body of a form-encoded request to the token,
// revocation, introspection and userinfo endpoints. The largest honest
// body is a private_key_jwt assertion (8 KiB at most) with a refresh token
// and a few resources.
const maxFormBytes = 32 << 10

// readForm reads the form-encoded body of a back-end request (RFC 6749
// §3.2): the Content-Type must be application/x-www-form-urlencoded, the
// body at most maxFormBytes and well formed, and no parameter may appear
// twice. The query string is never read: credentials and tokens belong in
// the body. Every failure is 400 invalid_request.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *Error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errorf(http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errorf(http.StatusBadRequest, "invalid_request", "the body is too large")
		}
		return nil, errorf(http.StatusBadRequest, "invalid_request", "the body could not be read")
	}
	return parseForm(string(body))
}

// parseForm parses a form-encoded body strictly: malformed escapes,
// semicolons and repeated parameters are invalid_request, except for
// "resource", which RFC 8707 §2 allows more than once.
func parseForm(body string) (url.Values, *Error) {
	form, err := url.ParseQuery(body)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid_request", "the body is not a valid form")
	}
	for name, vs := range form {
		if len(vs) > 1 && name != "resource" {
			return nil, errorf(http.StatusBadRequest, "invalid_request", "parameter "+safeName(name)+" is repeated")
		}
	}
	return form, nil
}

// safeName returns a parameter name fit for an error description: short,
// printable ASCII, or "(a parameter)".
func safeName(name string) string {
	if len(name) > 40 {
		return "(a parameter)"
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x21 || name[i] > 0x7e {
			return "(a parameter)"
		}
	}
	return name
}

// allowAnyOrigin lets a browser-based client (a public client: a
// single-page app) read the answer from another origin (CORS). It is safe
// for the token, revocation and userinfo endpoints because they read no
// cookie nor any other ambient credential: a page gets nothing it did not
// send the grant or token for, and "*" never allows credentials. The
// requests such a client sends are CORS-simple (a form POST without an
// Authorization header: at userinfo, the access_token in the body), so no
// preflight is needed.
func allowAnyOrigin(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "WWW-Authenticate")
}

// internal turns an error of a store or service into the answer to send:
// 503 temporarily_unavailable when a store is down, else 500
// server_error. The detail is logged, never sent.
func (p *Provider) internal(ctx context.Context, what string, err error) *Error {
	if sesame.ErrorCode(err) == sesame.EUnavailable || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		p.cfg.Logger.WarnContext(ctx, "oauth: "+what+": unavailable", "error", err)
		return errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "the service is temporarily unavailable")
	}
	p.cfg.Logger.ErrorContext(ctx, "oauth: "+what, "error", err)
	return errorf(http.StatusInternalServerError, "server_error", "internal error")
}

// writeJSON writes v with the headers every token-type response carries
// (RFC 6749 §5.1: no caching).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeJSONError(w, errorf(http.StatusInternalServerError, "server_error", "internal error"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
