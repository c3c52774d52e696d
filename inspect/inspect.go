package inspect

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

// MaxInput is the largest input [Inspect] reads, in bytes.
const MaxInput = 1 << 20

// Kind is what an input is.
type Kind string

// The kinds [Inspect] recognises.
const (
	KindJWT       Kind = "jwt"        // a compact JWS, optionally after "Bearer " or "Authorization: Bearer "
	KindSetCookie Kind = "set-cookie" // a Set-Cookie response header line, with or without its name
	KindCookie    Kind = "cookie"     // a Cookie request header line, with or without its name
	KindJWKS      Kind = "jwks"       // a JWK Set, or a single JWK
)

// Kinds lists the kinds, for flag help.
var Kinds = []Kind{KindJWT, KindSetCookie, KindCookie, KindJWKS}

// Severity ranks a [Finding].
type Severity string

// The severities. An error breaks a rule of SECURITY.md or makes the input
// unusable (a user agent drops the cookie, a strict verifier refuses the
// token); a warning is a weakness or a likely mistake; info is context.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Finding is one result of the lint.
type Finding struct {
	Severity Severity `json:"severity"`
	// Rule is the SECURITY.md item (e.g. "SEC-17") or, where none applies,
	// the standard it comes from (e.g. "RFC 6265bis").
	Rule string `json:"rule"`
	// Code is a short stable identifier, e.g. "jwt.alg-none".
	Code string `json:"code"`
	// Message explains the finding. It never holds a credential (a
	// signature, a cookie value).
	Message string `json:"message"`
}

// Summary counts the findings by severity.
type Summary struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Infos    int `json:"infos"`
}

// Report is what [Inspect] found. Exactly one of JWT, SetCookie, Cookie and
// JWKS is set, according to Kind.
type Report struct {
	Kind      Kind          `json:"kind"`
	JWT       *JWT          `json:"jwt,omitempty"`
	SetCookie *SetCookie    `json:"set_cookie,omitempty"`
	Cookie    *CookieHeader `json:"cookie,omitempty"`
	JWKS      *JWKS         `json:"jwks,omitempty"`
	Findings  []Finding     `json:"findings"`
	Summary   Summary       `json:"summary"`
	// Now is the instant relative times are computed from.
	Now time.Time `json:"now"`
}

// HasErrors reports whether any finding is an error.
func (r *Report) HasErrors() bool { return r.Summary.Errors > 0 }

// Options configure [Inspect]. The zero value detects the kind and uses the
// system clock.
type Options struct {
	// Kind forces the kind of the input. Default "": detected.
	Kind Kind
	// Now tells the time for expiry and relative times. Default time.Now.
	Now func() time.Time
	// Keys, when set, verifies a JWT's signature; Report.JWT.Verification
	// says which key verified it, and a token that none verifies gets an
	// error finding. Default nil: the signature is not checked.
	Keys *jose.KeySet
	// KeysSource names where Keys came from, for the report.
	KeysSource string
}

// ErrUnreadable is wrapped by every error of [Inspect]: the input is not a
// JWT, a cookie line or a JWKS that can be read at all. Its message never
// echoes the input.
var ErrUnreadable = errors.New("inspect: unreadable input")

func unreadable(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUnreadable, fmt.Sprintf(format, a...))
}

// Inspect decodes input (a JWT, a Set-Cookie or Cookie line, or a JWKS) and
// lints it. It returns an error wrapping [ErrUnreadable] when the input
// cannot be read as any of them; it never panics. Inspect makes no network
// request: Options.Keys is loaded by the caller (see [LoadKeySet]).
func Inspect(input []byte, opts Options) (*Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(input) > MaxInput {
		return nil, unreadable("input exceeds %d bytes", MaxInput)
	}
	text := strings.TrimSpace(string(bytes.TrimPrefix(input, []byte("\xef\xbb\xbf"))))
	if text == "" {
		return nil, unreadable("empty input")
	}
	kind, body, err := detect(text, opts.Kind)
	if err != nil {
		return nil, err
	}
	r := &Report{Kind: kind, Now: opts.Now().UTC().Truncate(time.Second)}
	l := &linter{}
	switch kind {
	case KindJWT:
		r.JWT, err = inspectJWT(body, r.Now, opts, l)
	case KindSetCookie:
		r.SetCookie, err = inspectSetCookie(body, r.Now, l)
	case KindCookie:
		r.Cookie, err = inspectCookieHeader(body, r.Now, l)
	case KindJWKS:
		r.JWKS, err = inspectJWKS(body, l)
	}
	if err != nil {
		return nil, err
	}
	// Errors first, then warnings, then infos; in the order found within
	// each severity.
	slices.SortStableFunc(l.findings, func(a, b Finding) int { return rank(a.Severity) - rank(b.Severity) })
	r.Findings = l.findings
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for _, f := range r.Findings {
		switch f.Severity {
		case Error:
			r.Summary.Errors++
		case Warning:
			r.Summary.Warnings++
		default:
			r.Summary.Infos++
		}
	}
	return r, nil
}

func rank(s Severity) int {
	switch s {
	case Error:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// detect returns the input's kind and the text to parse (without a header
// name or a "Bearer" scheme).
func detect(text string, forced Kind) (Kind, string, error) {
	name, rest, hasName := cutHeaderName(text)
	switch {
	case hasName && strings.EqualFold(name, "set-cookie"):
		return want(forced, KindSetCookie, rest)
	case hasName && strings.EqualFold(name, "cookie"):
		return want(forced, KindCookie, rest)
	case hasName && strings.EqualFold(name, "authorization"):
		text = rest
	}
	if scheme, tok, ok := strings.Cut(text, " "); ok && strings.EqualFold(scheme, "bearer") {
		return want(forced, KindJWT, strings.TrimSpace(tok))
	}
	if forced != "" {
		switch forced {
		case KindJWT, KindSetCookie, KindCookie, KindJWKS:
			return forced, text, nil
		}
		return "", "", unreadable("unknown kind %q", forced)
	}
	if strings.HasPrefix(text, "{") {
		if isJWSJSON(text) {
			return "", "", unreadable("a JWS in JSON serialization; only the compact form (three dot-separated parts) is inspected")
		}
		return KindJWKS, text, nil
	}
	if strings.ContainsRune(text, '\n') {
		return "", "", unreadable("more than one line; give one token, cookie line or JWKS")
	}
	switch dots := strings.Count(text, "."); {
	case dots == 4 && isCompactish(text):
		return "", "", unreadable("a JWE (five dot-separated parts): it is encrypted and cannot be inspected offline")
	case dots == 2 && isCompactish(text):
		return KindJWT, text, nil
	}
	if strings.Contains(text, "=") {
		if hasSetCookieAttribute(text) {
			return KindSetCookie, text, nil
		}
		return KindCookie, text, nil
	}
	return "", "", unreadable("not a JWT, a Set-Cookie or Cookie line, or a JWKS")
}

func want(forced, got Kind, body string) (Kind, string, error) {
	if forced != "" && forced != got {
		return "", "", unreadable("the input is a %s line, not a %s", got, forced)
	}
	return got, body, nil
}

// cutHeaderName splits "Name: rest" when Name is a header name this
// package knows.
func cutHeaderName(text string) (name, rest string, ok bool) {
	name, rest, ok = strings.Cut(text, ":")
	if !ok {
		return "", "", false
	}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "set-cookie", "cookie", "authorization":
		return strings.TrimSpace(name), strings.TrimSpace(rest), true
	}
	return "", "", false
}

// isCompactish reports whether s has only the characters of dot-separated
// base64 (either alphabet, padded or not), so that a cookie line holding
// dots is not taken for a token.
func isCompactish(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// setCookieAttributes are the attribute names of RFC 6265bis §4.1.1 and
// Partitioned (CHIPS).
var setCookieAttributes = map[string]bool{
	"expires": true, "max-age": true, "domain": true, "path": true, "secure": true,
	"httponly": true, "samesite": true, "partitioned": true,
}

func hasSetCookieAttribute(text string) bool {
	parts := strings.Split(text, ";")
	for _, p := range parts[1:] {
		name, _, _ := strings.Cut(strings.TrimSpace(p), "=")
		if setCookieAttributes[strings.ToLower(strings.TrimSpace(name))] {
			return true
		}
	}
	return false
}

// linter collects findings.
type linter struct {
	findings []Finding
	prefix   string // prepended to codes and messages of a nested object
	codePfx  string
}

func (l *linter) add(sev Severity, rule, code, format string, a ...any) {
	l.findings = append(l.findings, Finding{Severity: sev, Rule: rule, Code: l.codePfx + code, Message: l.prefix + fmt.Sprintf(format, a...)})
}

// nested returns a linter whose findings go to l with a prefix.
func (l *linter) nested(codePfx, msgPfx string) *linter {
	return &linter{prefix: l.prefix + msgPfx, codePfx: l.codePfx + codePfx}
}

func (l *linter) merge(n *linter) { l.findings = append(l.findings, n.findings...) }
