package config

import (
	netmail "net/mail"

	"github.com/sesame-auth/sesame/mail"
)

// checkEmail checks the email keys: a well-formed smtp_url (no password
// in it), a mail_from with it, and the settings that need mail only with
// it.
func (c *Config) checkEmail(ps *Problems) {
	switch c.RequireVerified {
	case "none", "reset", "login":
	default:
		c.problem(ps, "require_verified", "%q: want none, reset or login", c.RequireVerified)
	}
	if c.SMTPURL == "" {
		for key, on := range map[string]bool{"require_email": c.RequireEmail, "login_by_email": c.LoginByEmail,
			"require_verified": c.RequireVerified == "reset" || c.RequireVerified == "login"} {
			if on {
				c.problem(ps, key, "needs smtp_url: without mail no address can be verified or used")
			}
		}
		return
	}
	if _, err := mail.ParseURL(c.SMTPURL); err != nil {
		c.problem(ps, "smtp_url", "%v", err)
	}
	if c.SMTPCAFile != "" {
		if _, err := mail.LoadCAFile(c.SMTPCAFile); err != nil {
			c.problem(ps, "smtp_ca_file", "%v", err)
		}
	}
	if c.MailFrom == "" {
		c.problem(ps, "mail_from", "required with smtp_url: the From of every message")
	} else if _, err := netmail.ParseAddress(c.MailFrom); err != nil {
		c.problem(ps, "mail_from", "%q is not an address (auth@example.com or \"Sesame <auth@example.com>\")", c.MailFrom)
	}
}
