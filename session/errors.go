package session

import (
	"encoding/json"
	"net/http"

	"github.com/sesame-auth/sesame"
)

// WriteJSONError writes err as {"error":{"code":"...","message":"..."}} with
// the HTTP status of its code. Only the client-safe message is written.
func WriteJSONError(w http.ResponseWriter, r *http.Request, err error) {
	code := sesame.ErrorCode(err)
	status := sesame.HTTPStatus(code)
	body := struct {
		Error struct {
			Code    sesame.Code `json:"code"`
			Message string      `json:"message"`
		} `json:"error"`
	}{}
	body.Error.Code = code
	body.Error.Message = sesame.ErrorMessage(err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

var (
	errUnauthenticated = sesame.Errorf(sesame.EUnauthenticated, "authentication required")
	errCookieTooLarge  = sesame.Errorf(sesame.EHeaderTooLarge, "cookie header too large")
)

func unavailable(err error) error {
	return sesame.Wrap(sesame.EUnavailable, err, "session store unavailable")
}
