package csrf

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
)

// A token is base64url (unpadded) of mask || (mask XOR mac), where mask is
// 32 fresh random bytes and mac is HMAC-SHA256(key, label || binding). The
// mask makes every rendered token different, so that a compression oracle on
// the page (BREACH) cannot recover it; all of them verify.
const (
	macSize      = sha256.Size
	tokenBytes   = 2 * macSize
	tokenLen     = (tokenBytes*8 + 5) / 6 // 86 characters
	preValueSize = 32
	preValueLen  = (preValueSize*8 + 5) / 6 // 43 characters
)

// The labels separate the two kinds of binding, so that a pre-session
// cookie value chosen to equal someone's session ID never yields a token for
// that session.
const (
	labelSession    = "sesame-csrf-v1\x00session\x00"
	labelPreSession = "sesame-csrf-v1\x00pre-session\x00"
)

var b64 = base64.RawURLEncoding.Strict()

// binding is what a token is bound to: a session ID, or the value of the
// pre-session cookie.
type binding struct {
	label string
	value string
}

// Token returns a token for the next unsafe request of r's client: for a
// hidden [Config.FormField] field in an HTML form, or for a JSON response
// such as {"csrf_token": "..."} that an SPA echoes in the [Config.Header]
// header. Never put it in a URL: URLs end up in logs, history and Referer
// headers. Each call returns a different string (masked); every one of them
// verifies until the binding changes.
//
// When r has a session the token is bound to the session's ID, so it stops
// working when the session ends or the user logs in again (the login gives
// the session a new ID). When r has none (login and sign-up forms, SEC-39)
// the token is bound to the pre-session cookie, which Token sets on w (a
// host-only cookie with Path=/, Secure, HttpOnly and SameSite=Strict) if r
// lacks a well-formed one and w does not already set it. Call Token before
// writing the response body.
//
// Token is a signed double-submit: the cookie holds a random value and the
// token is an HMAC of it under the server's key, so an attacker who can plant
// a cookie still cannot make a matching token (attack 16).
func (p *Protection) Token(w http.ResponseWriter, r *http.Request) (string, error) {
	b, ok := p.binding(r)
	if !ok {
		v, ok := p.pendingCookie(w)
		if !ok {
			var err error
			if v, err = p.setPreSessionCookie(w); err != nil {
				return "", err
			}
		}
		b = binding{labelPreSession, v}
	}
	return p.mint(b)
}

// binding returns what r's token must be bound to; ok is false when r has
// no session and no single well-formed pre-session cookie.
func (p *Protection) binding(r *http.Request) (binding, bool) {
	if id := p.sessionID(r); id != "" {
		return binding{labelSession, id}, true
	}
	cs := r.CookiesNamed(p.cookieName)
	if len(cs) != 1 || !validPreValue(cs[0].Value) {
		// A duplicated name means someone planted a second cookie (attack
		// 23): trust neither.
		return binding{}, false
	}
	return binding{labelPreSession, cs[0].Value}, true
}

// pendingCookie returns the pre-session value already set on w by an
// earlier Token call for the same response.
func (p *Protection) pendingCookie(w http.ResponseWriter) (string, bool) {
	for _, line := range w.Header().Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == p.cookieName && validPreValue(c.Value) {
			return c.Value, true
		}
	}
	return "", false
}

func (p *Protection) setPreSessionCookie(w http.ResponseWriter) (string, error) {
	var raw [preValueSize]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("csrf: pre-session cookie: %w", err)
	}
	v := b64.EncodeToString(raw[:])
	http.SetCookie(w, &http.Cookie{
		Name:     p.cookieName,
		Value:    v,
		Path:     "/",
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
	return v, nil
}

func validPreValue(v string) bool {
	if len(v) != preValueLen {
		return false
	}
	raw, err := b64.DecodeString(v)
	return err == nil && len(raw) == preValueSize
}

func (p *Protection) mac(b binding) []byte {
	h := hmac.New(sha256.New, p.key)
	h.Write([]byte(b.label))
	h.Write([]byte(b.value))
	return h.Sum(nil)
}

func (p *Protection) mint(b binding) (string, error) {
	var tok [tokenBytes]byte
	if _, err := rand.Read(tok[:macSize]); err != nil {
		return "", fmt.Errorf("csrf: token: %w", err)
	}
	mac := p.mac(b)
	for i := range macSize {
		tok[macSize+i] = tok[i] ^ mac[i]
	}
	return b64.EncodeToString(tok[:]), nil
}

// unmask decodes a token into the MAC it carries; ok is false unless tok is
// exactly the canonical encoding of [tokenBytes] bytes.
func unmask(tok string) (mac []byte, ok bool) {
	if len(tok) != tokenLen {
		return nil, false
	}
	raw, err := b64.DecodeString(tok)
	if err != nil || len(raw) != tokenBytes {
		return nil, false
	}
	mac = make([]byte, macSize)
	for i := range macSize {
		mac[i] = raw[i] ^ raw[macSize+i]
	}
	return mac, true
}

// verify compares in constant time.
func (p *Protection) verify(b binding, mac []byte) bool {
	return hmac.Equal(p.mac(b), mac)
}
