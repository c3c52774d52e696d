package csrf

import (
	"mime"
	"net/http"
)

// multipartMemory bounds the non-file parts of a multipart form held in
// memory while looking for the token; the server's body limit bounds the
// rest.
const multipartMemory = 1 << 20

// Check reports whether r may proceed: nil, or an [*Error] saying which
// stage refused it. It never writes a response; [Protection.Handler] does.
//
// GET, HEAD and OPTIONS always pass: they must change no state (SEC-35,
// attack 13). Every other method, in any letter case, is unsafe. Check reads
// r.Method as sent: there is no _method field or X-HTTP-Method-Override
// (attack 17). An unsafe request must pass both stages:
//
//  1. Origin (SEC-36, SEC-38). "Sec-Fetch-Site: same-origin" passes. Any
//     other request passes only when its single Origin header equals,
//     byte for byte, the request's own origin (see [Config.Scheme]) or a
//     [Config.TrustedOrigins] entry. "Sec-Fetch-Site: none" alone is not
//     enough: browsers send it for user-initiated navigations, which are
//     not form posts, and an unsafe request claiming it has no reason to
//     lack a matching Origin. Origin "null" never passes. A request with
//     neither header is refused ([ErrNoOrigin]), unlike net/http's
//     CrossOriginProtection, which lets it through. Referer is not
//     consulted: browsers that send it on unsafe requests also send Origin,
//     and Sesame's pages set Referrer-Policy: no-referrer, so accepting it
//     would add parsing and no protection (attack 20).
//  2. Token (SEC-37, SEC-39). Unless [Config.TokenExempt] says otherwise,
//     a token from [Protection.Token] must be in the [Config.Header]
//     header or, for an application/x-www-form-urlencoded or
//     multipart/form-data body of a POST, PUT or PATCH (the methods whose
//     body net/http parses as a form), in the [Config.FormField] field.
//     Tokens in the URL query are ignored. The token must be bound to r's session,
//     or, when r has none, to its pre-session cookie. Tokens are compared
//     in constant time.
//
// Reading a form token parses r's body into r.PostForm (or r.MultipartForm),
// where the next handler finds it as usual.
//
// [Config.Exempt] requests skip both stages.
func (p *Protection) Check(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if p.exempt != nil && p.exempt(r) {
		return nil
	}
	if err := p.checkOrigin(r); err != nil {
		return err
	}
	if p.tokenExempt != nil && p.tokenExempt(r) {
		return nil
	}
	return p.checkToken(r)
}

func (p *Protection) checkOrigin(r *http.Request) error {
	site := r.Header.Values("Sec-Fetch-Site")
	if len(site) == 1 && site[0] == "same-origin" {
		return nil
	}
	origins := r.Header.Values("Origin")
	switch {
	case len(origins) == 0 && len(site) == 0:
		return ErrNoOrigin
	case len(origins) == 0:
		return ErrCrossSite
	case len(origins) == 1 && p.originAllowed(r, origins[0]):
		return nil
	}
	return ErrOriginMismatch
}

// originAllowed reports whether origin is exactly r's own origin or a
// trusted one. "null" can equal neither: a trusted origin always has a
// scheme, and the own origin always has "://".
func (p *Protection) originAllowed(r *http.Request, origin string) bool {
	if p.trusted[origin] {
		return true
	}
	scheme := p.scheme(r)
	return r.Host != "" && origin == scheme+"://"+canonicalHost(scheme, r.Host)
}

func (p *Protection) checkToken(r *http.Request) error {
	tok, err := p.requestToken(r)
	if err != nil {
		return err
	}
	mac, ok := unmask(tok)
	if !ok {
		return ErrMalformedToken
	}
	b, ok := p.binding(r)
	if !ok {
		return ErrNoPreSession
	}
	if !p.verify(b, mac) {
		return ErrTokenMismatch
	}
	return nil
}

// requestToken returns the one token r carries: the header when present,
// else the form field of a form body. The query string is never read.
func (p *Protection) requestToken(r *http.Request) (string, error) {
	vals := r.Header.Values(p.header)
	if len(vals) == 0 && isForm(r) {
		var err error
		if vals, err = p.formTokens(r); err != nil {
			return "", err
		}
	}
	switch len(vals) {
	case 0:
		return "", ErrMissingToken
	case 1:
		if vals[0] == "" {
			return "", ErrMissingToken
		}
		return vals[0], nil
	}
	return "", ErrMalformedToken
}

func (p *Protection) formTokens(r *http.Request) ([]string, error) {
	var err error
	if mediaType(r) == "multipart/form-data" {
		err = r.ParseMultipartForm(multipartMemory)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		return nil, &Error{Stage: StageToken, Reason: ErrUnreadableForm.Reason, Err: err}
	}
	return r.PostForm[p.formField], nil
}

func isForm(r *http.Request) bool {
	switch mediaType(r) {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		return true
	}
	return false
}

func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}
