package inspect

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// WriteText writes the report for a terminal. Every string that comes from
// the input is escaped so that control characters cannot act on the
// terminal; signatures and cookie values are never written.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := &printer{w: bw}
	switch {
	case r.JWT != nil:
		p.line("JWT: %s, %d bytes", r.JWT.TokenKind, r.JWT.Size)
		p.jwt(r.JWT, "")
	case r.SetCookie != nil:
		p.setCookie(r.SetCookie)
	case r.Cookie != nil:
		p.cookieHeader(r.Cookie)
	case r.JWKS != nil:
		p.jwks(r.JWKS)
	}
	p.line("")
	p.line("Findings: %s, %s, %s", plural(r.Summary.Errors, "error"), plural(r.Summary.Warnings, "warning"), plural(r.Summary.Infos, "info"))
	for _, f := range r.Findings {
		p.line("  %-7s  %-11s  %s [%s]", f.Severity, f.Rule, clean(f.Message), f.Code)
	}
	return bw.Flush()
}

type printer struct{ w *bufio.Writer }

func (p *printer) line(format string, a ...any) {
	fmt.Fprintf(p.w, format, a...)
	p.w.WriteByte('\n')
}

func plural(n int, word string) string {
	if n == 1 || word == "info" {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func (p *printer) jwt(j *JWT, indent string) {
	p.line("%sHeader", indent)
	p.members(j.header, nil, indent+"  ")
	if j.claims != nil {
		p.line("%sClaims", indent)
		p.members(j.claims, j.Times, indent+"  ")
	} else {
		p.line("%sPayload: %d bytes, not a JSON object", indent, j.PayloadBytes)
	}
	if j.LifetimeSeconds != nil {
		p.line("%sLifetime: %s", indent, relative(time.Duration(*j.LifetimeSeconds)*time.Second))
	}
	p.line("%sSignature: %s (not shown: with the header and payload it is the credential)", indent, plural(j.Signature.Bytes, "byte"))
	if v := j.Verification; v != nil {
		src := ""
		if v.Source != "" {
			src = " from " + clean(v.Source)
		}
		if v.Verified {
			p.line("%sVerified: by the key with kid %s (%s, thumbprint %s)%s", indent, quote(v.KeyID), v.Algorithm, v.Thumbprint, src)
		} else {
			p.line("%sNot verified%s: %s", indent, src, clean(v.Error))
		}
	}
}

func (p *printer) members(o object, times []Time, indent string) {
	width := 0
	for _, m := range o {
		width = max(width, utf8.RuneCountInString(clean(m.Name)))
	}
	for _, m := range o {
		extra := ""
		for _, t := range times {
			if t.Claim == m.Name {
				extra = fmt.Sprintf("  (%s, %s)", t.UTC, t.Relative)
			}
		}
		p.line("%s%-*s  %s%s", indent, width, clean(m.Name), clean(string(m.Value)), extra)
	}
}

func (p *printer) setCookie(c *SetCookie) {
	role := "cookie"
	if c.Session {
		role = "session cookie: " + c.SessionReason
	}
	p.line("Set-Cookie: %s (%s)", clean(c.Name), role)
	value := plural(c.ValueLength, "byte") + " (not shown: a credential)"
	if c.JWT != nil {
		value = fmt.Sprintf("%s, a JWT (%s); its signature is not shown", plural(c.ValueLength, "byte"), c.JWT.TokenKind)
	}
	p.line("  %-11s %s", "value", value)
	p.line("  %-11s %s", "Path", orNone(clean(c.Path), "(none: the directory of the URL that set it)"))
	p.line("  %-11s %s", "Domain", orNone(clean(c.Domain), "(none: host-only)"))
	p.line("  %-11s %s", "Secure", yesNo(c.Secure))
	p.line("  %-11s %s", "HttpOnly", yesNo(c.HttpOnly))
	p.line("  %-11s %s", "SameSite", orNone(c.SameSite, "(none)"))
	if c.Partitioned {
		p.line("  %-11s %s", "Partitioned", "yes")
	}
	switch {
	case c.Deletes:
		p.line("  %-11s %s", "lifetime", "deletes the cookie")
	case c.Persistent:
		how := ""
		if c.MaxAge != nil {
			how = fmt.Sprintf("Max-Age=%d", *c.MaxAge)
		} else {
			how = "Expires=" + clean(c.Expires)
		}
		p.line("  %-11s persistent, %s (%s)", "lifetime", relative(time.Duration(*c.LifetimeSeconds)*time.Second), how)
	default:
		p.line("  %-11s %s", "lifetime", "browser session (no Max-Age or Expires)")
	}
	for _, u := range c.Unknown {
		p.line("  %-11s %s", "unknown", clean(u))
	}
	if c.JWT != nil {
		p.line("  Value as a JWT:")
		p.jwt(c.JWT, "    ")
	}
}

func (p *printer) cookieHeader(h *CookieHeader) {
	p.line("Cookie header: %d bytes, %s", h.Size, plural(len(h.Cookies), "cookie"))
	width := 0
	for _, c := range h.Cookies {
		width = max(width, len(c.Name))
	}
	for _, c := range h.Cookies {
		kind := "(not shown: a credential)"
		if c.JWT != nil {
			kind = "a JWT (" + c.JWT.TokenKind + "); its signature is not shown"
		}
		p.line("  %-*s  %s %s", width, clean(c.Name), plural(c.ValueLength, "byte"), kind)
		if c.JWT != nil {
			p.jwt(c.JWT, "    ")
		}
	}
}

func (p *printer) jwks(s *JWKS) {
	what := "JWKS"
	if s.SingleKey {
		what = "JWK"
	}
	p.line("%s: %s", what, plural(len(s.Keys), "key"))
	for i, k := range s.Keys {
		desc := []string{"kid " + orNone(quote(k.KeyID), "(none)"), "kty " + orNone(clean(k.KeyType), "(none)")}
		if k.Curve != "" {
			desc = append(desc, "crv "+clean(k.Curve))
		}
		if k.Bits > 0 {
			desc = append(desc, fmt.Sprintf("%d bits", k.Bits))
		}
		desc = append(desc, "alg "+orNone(clean(k.Algorithm), "(none)"), "use "+orNone(clean(k.Use), "(none)"))
		p.line("  key %d: %s", i, strings.Join(desc, ", "))
		if len(k.Private) > 0 {
			p.line("         private members: %s (not shown)", strings.Join(k.Private, ", "))
		}
		if k.Thumbprint != "" {
			p.line("         thumbprint %s", k.Thumbprint)
		}
	}
}

func orNone(s, none string) string {
	if s == "" || s == `""` {
		return none
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func quote(s string) string {
	if s == "" {
		return ""
	}
	return `"` + clean(s) + `"`
}

// clean escapes what a terminal could act on: control characters
// (including C1 controls such as CSI), other non-printable runes and
// invalid UTF-8.
func clean(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}
