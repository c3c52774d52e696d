package server

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/authz"
	"github.com/sesame-auth/sesame/jose"
)

// ForwardPath is the forward-auth endpoint: reverse proxies (nginx
// auth_request, Caddy forward_auth, Traefik ForwardAuth) ask it whether
// to let each request through.
const ForwardPath = "/api/v1/authz/forward"

// maxOriginalURL bounds the original URL a proxy reports (X-Original-URL,
// or X-Forwarded-Host plus X-Forwarded-Uri): a longer one is 400.
const maxOriginalURL = 8 << 10

// ForwardConfig configures the forward-auth endpoint ([ForwardPath]) and
// where the login page may send a user back to. Zero values are the
// defaults in the comments.
type ForwardConfig struct {
	// Rules decide every request. Default nil: no rule, every request is
	// refused (403), as with an empty list.
	Rules *authz.Rules
	// Headers names the identity headers of an allowed answer. Default
	// Remote-User, Remote-Groups, Remote-Name and Remote-Email.
	Headers ForwardHeaders
	// Assertion adds a signed assertion (header Sesame-Assertion, a JWT of
	// type sesame-assertion+jwt) to every allowed answer for a signed-in
	// caller. Default false: only on the answers of rules whose
	// [authz.Rule.Assertion] is set. Either needs Keys and Issuer.
	Assertion bool
	// Keys signs assertions: the deployment's signing keys, the same as
	// access tokens' (published in the JWKS).
	Keys interface{ SigningKey() *jose.Key }
	// Issuer is the iss of assertions: the issuer of access tokens.
	Issuer string
	// ReturnDomains are the hosts the login page may send a user back to
	// after signing in, besides its own paths: "wiki.example.com" exactly,
	// "example.com" with the leading-dot form ".example.com" or
	// "*.example.com" for every subdomain (and example.com itself for the
	// dot form). Only https URLs are followed, and http ones when the
	// public URL is http (a development server). Default none: local paths
	// only.
	ReturnDomains []string
}

// ForwardHeaders names the identity headers the forward-auth endpoint
// sets on an allowed answer for a signed-in caller. An empty field takes
// its default; "-" leaves that header out.
type ForwardHeaders struct {
	User   string // the username; default Remote-User
	Groups string // the user's groups, comma-separated; default Remote-Groups
	Name   string // the user's display name (today the username); default Remote-Name
	Email  string // the user's email address, when there is one; default Remote-Email
}

// AssertionHeader carries the signed assertion of an allowed answer.
const AssertionHeader = "Sesame-Assertion"

// forwarder is the compiled ForwardConfig.
type forwarder struct {
	rules   *authz.Rules
	assert  []bool         // by rule: sign an assertion (ForwardConfig.Assertion or the rule's own)
	signs   bool           // some rule signs: every 200 carries the header, empty when unsigned
	headers ForwardHeaders // canonical names; "" for a header left out
	returns returnDomains
}

func newForwarder(c ForwardConfig) (*forwarder, error) {
	f := &forwarder{rules: c.Rules}
	if f.rules == nil {
		f.rules, _ = authz.Compile(nil)
	}
	h := &f.headers
	for _, x := range []struct {
		dst  *string
		name string
		def  string
	}{{&h.User, c.Headers.User, "Remote-User"}, {&h.Groups, c.Headers.Groups, "Remote-Groups"},
		{&h.Name, c.Headers.Name, "Remote-Name"}, {&h.Email, c.Headers.Email, "Remote-Email"}} {
		switch x.name {
		case "":
			*x.dst = x.def
		case "-":
		default:
			if !isHeaderName(x.name) {
				return nil, fmt.Errorf("forward headers: %q is not a header name", x.name)
			}
			*x.dst = http.CanonicalHeaderKey(x.name)
		}
	}
	signs := c.Assertion
	for i := range f.rules.Len() {
		f.assert = append(f.assert, c.Assertion || f.rules.Rule(i).Assertion)
		signs = signs || f.assert[i]
	}
	f.signs = signs
	if signs && (c.Keys == nil || c.Issuer == "") {
		return nil, fmt.Errorf("forward assertion: Keys and Issuer are required")
	}
	var err error
	if f.returns, err = parseReturnDomains(c.ReturnDomains); err != nil {
		return nil, err
	}
	return f, nil
}

// isHeaderName reports whether s is an RFC 9110 token of at most 64
// characters.
func isHeaderName(s string) bool { return len(s) <= 64 && authz.IsToken(s) }

// original is the request a proxy asks about.
type original struct {
	scheme string // "http" or "https"
	host   string // as sent, port included when it was
	uri    string // the raw request-target: path and query
	method string
	nginx  bool // asked with X-Original-URL: a navigation is 401 + Location
}

// url is the original URL, for the login page's return target.
func (o *original) url() string { return o.scheme + "://" + o.host + o.uri }

var (
	errForwardMethod = sesame.Errorf(sesame.EInvalid, "the forwarded request names no valid method (X-Original-Method or X-Forwarded-Method)")
	errForwardURL    = sesame.Errorf(sesame.EInvalid, "the forwarded request's URL is malformed or too long (X-Original-URL, or X-Forwarded-Host and X-Forwarded-Uri)")
	errForwardDup    = sesame.Errorf(sesame.EInvalid, "a forwarded header is repeated")
	errForwardProto  = sesame.Errorf(sesame.EInvalid, "X-Forwarded-Proto must be http or https")
	errForwardRule   = sesame.Errorf(sesame.EInvalid, "the forwarded request's host or path is malformed or ambiguous")
)

// handleForward is the forward-auth endpoint, for every method: it
// decides the original request (reported by a trusted proxy, else the
// request itself) with the access rules and answers 200 with identity
// headers, 401 (or a redirect to the login page for a browser
// navigation), 403 or 400. It changes no state.
func (s *Server) handleForward(w http.ResponseWriter, r *http.Request) {
	o, err := s.originalRequest(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.principal(r)
	var caller *authz.Caller
	switch {
	case err == nil:
		caller = &authz.Caller{Name: p.User.Username, Admin: p.User.Admin, Groups: userGroups(p.User)}
	case sesame.ErrorCode(err) != sesame.EUnauthenticated:
		s.writeError(w, r, err) // the user store cannot answer: 503, never an allow
		return
	}
	d := s.fwd.rules.Decide(authz.Request{Host: o.host, Path: o.uri, Method: o.method,
		ClientIP: s.cfg.ClientIPs.ClientIP(r), Caller: caller})
	switch d.Outcome {
	case authz.Allow:
		s.forwardAllow(w, r, &o, p, caller, d.Rule >= 0 && s.fwd.assert[d.Rule])
	case authz.NeedLogin:
		s.forwardLogin(w, r, &o)
	case authz.Invalid:
		s.writeError(w, r, errForwardRule)
	default:
		if p != nil {
			// Failed authorization is audited (SEC-53). The reason names
			// the rule and the host, never the path or query, which can
			// carry secrets (SEC-54).
			reason := "no rule matches (default deny) on " + o.host
			if d.Rule >= 0 {
				reason = "access_rules[" + strconv.Itoa(d.Rule) + "] on " + o.host
			}
			s.audit(r, sesame.Event{Type: sesame.EventAccessDenied, UserID: p.UserID, Username: p.User.Username,
				SessionID: p.SessionID, Reason: reason})
		}
		s.writeError(w, r, errForbidden)
	}
}

// forwardAllow answers 200, with the identity headers (and the assertion,
// when configured) for a signed-in caller.
func (s *Server) forwardAllow(w http.ResponseWriter, r *http.Request, o *original, p *sesame.Principal, c *authz.Caller, assert bool) {
	h := w.Header()
	name, groups := "", ""
	if c != nil {
		name, groups = c.Name, strings.Join(c.Groups, ",")
	}
	// Always sent, empty for an anonymous caller on a bypass rule, so that
	// a proxy copying them never copies a client's header or a
	// placeholder.
	f := &s.fwd.headers
	vals := [...]string{name, groups, name, ""}
	vs := vals[:] // one allocation for the values
	if f.User != "" {
		h[f.User] = vs[0:1:1]
	}
	if f.Groups != "" {
		h[f.Groups] = vs[1:2:2]
	}
	if f.Name != "" {
		h[f.Name] = vs[2:3:3]
	}
	if s.fwd.signs {
		h[AssertionHeader] = vs[3:4:4] // empty: a proxy copying it never copies a placeholder
	}
	if c != nil {
		if assert {
			a, err := s.signAssertion(r, o, p, c)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			h[AssertionHeader] = []string{a}
		}
	}
	w.WriteHeader(http.StatusOK)
}

// forwardLogin answers an anonymous caller on a rule that a signed-in user
// could pass: a browser navigation is sent to the login page, with the
// original URL to come back to (302, or 303 for a method other than GET
// and HEAD); for nginx, which takes only 2xx, 401 and 403 from
// auth_request, it is 401 with the login URL in Location, which the
// documented snippet turns into the redirect. Anything else is 401 with
// WWW-Authenticate.
func (s *Server) forwardLogin(w http.ResponseWriter, r *http.Request, o *original) {
	h := w.Header()
	h.Set("WWW-Authenticate", `Bearer realm="sesame"`)
	if !isNavigation(r.Header) {
		s.writeError(w, r, errUnauthenticated)
		return
	}
	h.Set("Location", s.loginURL(r, o))
	switch {
	case o.nginx:
		s.writeError(w, r, errUnauthenticated)
	case o.method == http.MethodGet || o.method == http.MethodHead:
		w.WriteHeader(http.StatusFound)
	default:
		w.WriteHeader(http.StatusSeeOther)
	}
}

// loginURL is the absolute URL of the login page with the original URL as
// its return target (next).
func (s *Server) loginURL(r *http.Request, o *original) string {
	base := ""
	if s.public != nil {
		base = s.public.scheme + "://" + s.public.host
	} else {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + s.sessions.Config().LoginPath + "?next=" + url.QueryEscape(o.url())
}

// isNavigation reports whether the headers of the original request are a
// browser's top-level navigation, which is sent to the login page rather
// than answered 401: Sec-Fetch-Mode decides when present (navigate), else
// Sec-Fetch-Dest (document); a request without Fetch Metadata (an older
// browser) is a navigation when it accepts text/html and carries neither
// X-Requested-With nor Authorization.
func isNavigation(h http.Header) bool {
	if m := h.Get("Sec-Fetch-Mode"); m != "" {
		return m == "navigate"
	}
	if d := h.Get("Sec-Fetch-Dest"); d != "" {
		return d == "document"
	}
	if h.Get("X-Requested-With") != "" || h.Get("Authorization") != "" {
		return false
	}
	return strings.Contains(h.Get("Accept"), "text/html")
}

// originalRequest returns the request to decide. Only a peer in
// trusted_proxies is believed about another request: from it,
// X-Original-URL with X-Original-Method (nginx), or X-Forwarded-Uri,
// X-Forwarded-Host, X-Forwarded-Proto and X-Forwarded-Method (Caddy,
// Traefik). From any other peer, or without those headers, the request is
// itself the one decided: a request to Sesame's own URL (SEC-57).
func (s *Server) originalRequest(r *http.Request) (original, error) {
	self := original{scheme: "http", host: r.Host, uri: r.URL.EscapedPath(), method: r.Method}
	if r.TLS != nil {
		self.scheme = "https"
	}
	if s.public != nil {
		self.scheme = s.public.scheme
	}
	if r.URL.RawQuery != "" {
		self.uri += "?" + r.URL.RawQuery
	}
	if !s.fromTrustedProxy(r) {
		return self, nil
	}
	h := r.Header
	if xs := h.Values("X-Original-Url"); len(xs) > 0 {
		if len(xs) > 1 {
			return original{}, errForwardDup
		}
		o, ok := parseOriginalURL(xs[0])
		if !ok {
			return original{}, errForwardURL
		}
		o.nginx = true
		o.method, ok = forwardedMethod(h, "X-Original-Method")
		if !ok {
			return original{}, errForwardMethod
		}
		return o, nil
	}
	uris := h.Values("X-Forwarded-Uri")
	if len(uris) == 0 {
		return self, nil
	}
	hosts, protos := h.Values("X-Forwarded-Host"), h.Values("X-Forwarded-Proto")
	if len(uris) > 1 || len(hosts) > 1 || len(protos) > 1 {
		return original{}, errForwardDup
	}
	o := original{scheme: "https"}
	if len(protos) == 1 {
		switch strings.ToLower(protos[0]) {
		case "https":
		case "http":
			o.scheme = "http"
		default:
			return original{}, errForwardProto
		}
	}
	if len(hosts) != 1 || !validForwardHost(hosts[0]) || !validURI(uris[0]) || len(hosts[0])+len(uris[0]) > maxOriginalURL {
		return original{}, errForwardURL
	}
	o.host, o.uri = hosts[0], uris[0]
	var ok bool
	if o.method, ok = forwardedMethod(h, "X-Forwarded-Method"); !ok {
		return original{}, errForwardMethod
	}
	return o, nil
}

// fromTrustedProxy reports whether the TCP peer is in trusted_proxies.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	proxies := s.cfg.ClientIPs.TrustedProxies
	if len(proxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().WithZone("").Unmap()
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedMethod reads the one method header: a token of at most 32
// characters.
func forwardedMethod(h http.Header, name string) (string, bool) {
	vs := h.Values(name)
	if len(vs) != 1 || len(vs[0]) > 32 || !isHeaderName(vs[0]) {
		return "", false
	}
	return vs[0], true
}

// parseOriginalURL reads an absolute http(s) URL as nginx writes
// $scheme://$http_host$request_uri: scheme, host (no user-info) and the
// raw request-target, which must start with '/' (no path at all is "/").
// The host ends only at the first '/': $request_uri always starts with
// one, and nginx lets '?' and '#' into a Host header, so
// "https://wiki.example.com?/admin" is a Host of "wiki.example.com?" asking
// for /admin, never a bare query on "/" (SEC-57). Control characters,
// spaces, a fragment and anything over 8 KiB are refused; the host and
// path are checked further by the rules (authz).
func parseOriginalURL(s string) (original, bool) {
	if len(s) > maxOriginalURL {
		return original{}, false
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return original{}, false
	}
	o := original{}
	switch strings.ToLower(scheme) {
	case "https":
		o.scheme = "https"
	case "http":
		o.scheme = "http"
	default:
		return original{}, false
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		i = len(rest)
	}
	o.host, o.uri = rest[:i], rest[i:]
	if o.uri == "" {
		o.uri = "/"
	}
	if !validForwardHost(o.host) || !validURI(o.uri) {
		return original{}, false
	}
	return o, true
}

// validForwardHost accepts a host[:port] as a Host header carries it (no
// user-info, no list).
func validForwardHost(h string) bool { return validHost(h) }

// validURI accepts a raw request-target path (and query): it starts with
// '/', and has no control character, space, DEL or fragment.
func validURI(u string) bool {
	if u == "" || u[0] != '/' || len(u) > maxOriginalURL {
		return false
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c == 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// userGroups returns the groups of u for the rules and the identity
// headers. Stores keep only valid names ([sesame.ValidGroupName]: no
// comma, space or control character), so the slice is used as it is,
// without a copy; a name that is not valid (a store that failed its
// contract) is left out rather than sent in a comma-separated header.
func userGroups(u *sesame.User) []string {
	for i, g := range u.Groups {
		if !sesame.ValidGroupName(g) {
			out := append([]string(nil), u.Groups[:i]...)
			for _, g := range u.Groups[i+1:] {
				if sesame.ValidGroupName(g) {
					out = append(out, g)
				}
			}
			return out
		}
	}
	return u.Groups
}
