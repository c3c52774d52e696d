package csrf_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/sesame-auth/sesame/csrf"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// TestCSRFMatrix is the CSRF matrix of issue 6 and SEC-36/SEC-37/SEC-39:
// Sec-Fetch-Site × Origin × method × token, for requests bound to a session
// and for pre-session (login form) requests, with the token in the header
// and in a form field. The expected result of every cell is computed from
// the rules in [expectedCheck], independently of the implementation.
func TestCSRFMatrix(t *testing.T) {
	fetchSites := []string{"same-origin", "same-site", "cross-site", "none", ""}
	origins := []struct{ name, value string }{
		{"match", selfOrigin},
		{"other", "https://attacker.example"},
		{"null", "null"},
		{"absent", ""},
	}
	methods := []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodGet, http.MethodHead, http.MethodOptions}
	tokens := []string{"valid", "missing", "other-session", "stale"}
	bindings := []string{"session", "pre-session"}
	deliveries := []string{"header", "form"}

	p := newProtection(t, nil)

	// Session-bound tokens. The user's session is "sid-current"; before
	// their last login it was "sid-before-relogin" (stale), and
	// "sid-attacker" is the attacker's own session (attack 15).
	sessTok := map[string]string{
		"valid":         sessionToken(t, p, "sid-current"),
		"other-session": sessionToken(t, p, "sid-attacker"),
		"stale":         sessionToken(t, p, "sid-before-relogin"),
	}
	// Pre-session tokens (SEC-39). The login page set victimCookie; the
	// attacker has a cookie and token of their own; stale is a token of the
	// session that ended before the user came back to the login page.
	victimCookie, victimTok := preSession(t, p)
	_, attackerTok := preSession(t, p)
	preTok := map[string]string{
		"valid":         victimTok,
		"other-session": attackerTok,
		"stale":         sessionToken(t, p, "sid-logged-out"),
	}

	cells := 0
	for _, binding := range bindings {
		for _, delivery := range deliveries {
			for _, fs := range fetchSites {
				for _, o := range origins {
					for _, method := range methods {
						for _, tk := range tokens {
							cells++
							fsName := fs
							if fsName == "" {
								fsName = "absent"
							}
							name := fmt.Sprintf("%s/%s/site=%s/origin=%s/%s/token=%s", binding, delivery, fsName, o.name, method, tk)
							t.Run(name, func(t *testing.T) {
								toks := sessTok
								if binding == "pre-session" {
									toks = preTok
								}
								tok := toks[tk]
								var form url.Values
								var headers []string
								if delivery == "form" {
									form = url.Values{"note": {"x"}}
									if tok != "" {
										form.Set(csrf.DefaultFormField, tok)
									}
								} else if tok != "" {
									headers = append(headers, csrf.DefaultHeader+": "+tok)
								}
								if fs != "" {
									headers = append(headers, "Sec-Fetch-Site: "+fs)
								}
								if o.value != "" {
									headers = append(headers, "Origin: "+o.value)
								}
								r := unsafeReq(method, form, headers...)
								if binding == "session" {
									r = withSession(r, "sid-current")
								} else {
									r.AddCookie(victimCookie)
								}
								assertErr(t, p.Check(r), expectedCheck(method, fs, o.name, tk, delivery), tok)
							})
						}
					}
				}
			}
		}
	}
	if want := 2 * 2 * 5 * 4 * 7 * 4; cells != want {
		t.Fatalf("matrix has %d cells, want %d", cells, want)
	}
}

// expectedCheck states the rules of Check for one matrix cell.
func expectedCheck(method, fetchSite, origin, token, delivery string) error {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil // SEC-35: safe methods change nothing, so they always pass
	}
	if fetchSite != "same-origin" { // "none" is not enough for an unsafe method
		switch {
		case origin == "match":
		case origin != "absent": // other origin, and "null", never pass
			return csrf.ErrOriginMismatch
		case fetchSite != "":
			return csrf.ErrCrossSite
		default:
			return csrf.ErrNoOrigin // neither header: fail closed (SEC-36)
		}
	}
	if delivery == "form" && method == http.MethodDelete {
		// net/http parses a form body only for POST, PUT and PATCH; a
		// DELETE carries its token in the header.
		return csrf.ErrMissingToken
	}
	switch token {
	case "valid":
		return nil
	case "missing":
		return csrf.ErrMissingToken // attack 14
	default:
		return csrf.ErrTokenMismatch // attack 15; stale = rotated on login
	}
}
