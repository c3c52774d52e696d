package email

import (
	"net/mail"
	"strings"

	"github.com/sesame-auth/sesame"
)

// MaxEmailBytes bounds addresses (RFC 5321's path limit).
const MaxEmailBytes = 254

// Normalize checks a bare address ("alice@example.com", no display name)
// and returns it with its domain in lower case. The local part is kept as
// given, because RFC 5321 lets a mail server tell "Alice" from "alice"
// and the mail must reach the mailbox the user named; uniqueness and
// sign-in by address compare [Key]s, which fold the local part too, so
// that "Alice@Example.com" and "alice@example.com" are one address for
// Sesame. Errors are *sesame.Error with code EInvalid.
func Normalize(addr string) (string, error) {
	if addr == "" {
		return "", sesame.Errorf(sesame.EInvalid, "email address is required")
	}
	if len(addr) > MaxEmailBytes {
		return "", sesame.Errorf(sesame.EInvalid, "email address is too long")
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr {
		return "", sesame.Errorf(sesame.EInvalid, "email address is not valid: give it as name@example.com")
	}
	at := strings.LastIndexByte(addr, '@')
	local, domain := addr[:at], addr[at+1:]
	if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, "[") {
		return "", sesame.Errorf(sesame.EInvalid, "email address is not valid: give it as name@example.com")
	}
	for i := 0; i < len(addr); i++ {
		if addr[i] < 0x21 || addr[i] == 0x7f {
			return "", sesame.Errorf(sesame.EInvalid, "email address is not valid: give it as name@example.com")
		}
	}
	return local + "@" + strings.ToLower(domain), nil
}

// Key is the comparison form of a normalised address: all lower case.
func Key(normalized string) string { return strings.ToLower(normalized) }

// LooksLikeEmail reports whether a login name could be an address.
func LooksLikeEmail(login string) bool { return strings.Contains(login, "@") }
