package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
)

// decodeJSON reads one JSON object from the body into v. It refuses
// anything but application/json (415: a cross-site form cannot send it,
// SEC-40), unknown fields, trailing data and oversized bodies (413), with a
// message that names the problem.
func decodeJSON(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return sesame.Errorf(sesame.EUnsupported, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if isBodyTooLarge(err) {
			return errBodyTooLarge
		}
		return sesame.Errorf(sesame.EInvalid, "request body must be a single JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case isBodyTooLarge(err):
		return errBodyTooLarge
	case errors.Is(err, io.EOF):
		return sesame.Errorf(sesame.EInvalid, "request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return sesame.Errorf(sesame.EInvalid, "request body is truncated JSON")
	case errors.As(err, &syn):
		return sesame.Errorf(sesame.EInvalid, "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return sesame.Errorf(sesame.EInvalid, "field %q must be a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()))
		}
		return sesame.Errorf(sesame.EInvalid, "request body must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if len(name) > 70 {
			name = name[:64] + `…"`
		}
		return sesame.Errorf(sesame.EInvalid, "unknown field %s", sanitize(name))
	}
	return sesame.Errorf(sesame.EInvalid, "malformed JSON")
}

func jsonKind(k string) string {
	switch k {
	case "bool":
		return "boolean"
	case "string":
		return "string"
	}
	return k
}

// sanitize keeps only printable ASCII of s, for echoing a client's field
// name back.
func sanitize(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= 0x20 && c < 0x7f {
			b.WriteRune(c)
		} else {
			b.WriteRune('?')
		}
	}
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Fprint(io.Discard, err) // the client went away; nothing to do
	}
}

// writeError answers with err: a JSON body for API requests, an HTML page
// for page requests. Internal detail is logged, never sent.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	setRetryAfter(w, err)
	code := sesame.ErrorCode(err)
	if code == sesame.EInternal || code == sesame.EUnavailable {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	if strings.HasPrefix(r.URL.Path, "/api/") || !wantsHTML(r) {
		session.WriteJSONError(w, r, err)
		return
	}
	s.renderError(w, r, err)
}

func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html") || isForm(r)
}
