// Package csrf defends cookie-authenticated requests against cross-site
// request forgery (SEC-35 to SEC-40), with two independent stages that an
// unsafe request (any method but GET, HEAD and OPTIONS) must both pass:
//
//   - Origin: "Sec-Fetch-Site: same-origin", or an Origin header that equals
//     the request's own origin or a trusted one exactly. A request with
//     neither header fails closed.
//   - Token: a token bound to the session by HMAC-SHA256, in the
//     X-CSRF-Token header or the csrf_token form field. Requests without a
//     session (the login and sign-up forms) use a token bound to a random
//     "__Host-" pre-session cookie instead: a signed double-submit, never the
//     naive one.
//
// The decision, [Protection.Check], is separate from the enforcement,
// [Protection.Handler], whose deny handler is replaceable, as in net/http's
// CrossOriginProtection. Unlike that type, a request carrying neither
// Sec-Fetch-Site nor Origin is refused, and a token is required as well.
//
// Tokens rotate on login without any work from the caller: Sesame gives a
// session a new ID at every login (the session fixation defence), and a
// token bound to the old ID no longer verifies. After logging in, an SPA
// fetches a fresh token.
//
// # Usage
//
//	csrfp, err := csrf.New(csrf.Config{
//		Key: key, // 32+ bytes from crypto/rand, the same on every node
//		SessionID: func(r *http.Request) string {
//			if s, ok := session.Current(r.Context()); ok {
//				return s.ID
//			}
//			return ""
//		},
//		TokenExempt: isJSONLoginOrSignup, // application/json only; origin stage still applies
//		OnReject: func(r *http.Request, err error) {
//			audit(r, "csrf_rejected", err) // err never contains the token
//		},
//	})
//	...
//	handler := sessions.Middleware(csrfp.Handler(mux)) // SessionID needs the session loaded
//
// A page handler renders the token in its form:
//
//	tok, err := csrfp.Token(w, r) // before writing the body: may set the pre-session cookie
//	// <input type="hidden" name="csrf_token" value="{{.CSRFToken}}">
//
// and an SPA gets it from a JSON endpoint, never from a URL:
//
//	// GET /api/v1/csrf -> {"csrf_token": "..."}, then send it back as
//	// X-CSRF-Token on every unsafe request.
//
// A [Protection] is immutable and safe for concurrent use.
package csrf
