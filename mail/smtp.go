package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP sends through one SMTP server, a connection per message.
type SMTP struct {
	host     string
	port     int
	implicit bool   // smtps://: TLS from the first byte
	user     string // "" : no authentication
	password string
	from     string
	roots    *x509.CertPool // nil: the system's
}

// TrustOnly makes the sender check the server's certificate against
// roots instead of the system's roots (smtp_ca_file; see LoadCAFile).
func (s *SMTP) TrustOnly(roots *x509.CertPool) { s.roots = roots }

// LoadCAFile reads a PEM file of CA certificates (smtp_ca_file).
func LoadCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mail: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("mail: %s holds no PEM certificate", path)
	}
	return pool, nil
}

// NewSMTP returns a sender for rawURL: smtp://[user@]host[:port] (port 587
// by default; STARTTLS when the server offers it) or
// smtps://[user@]host[:port] (port 465; implicit TLS). The password is
// given separately (smtp_password_file or SESAME_SMTP_PASSWORD), never in
// the URL. from is the From header: "auth@example.com" or
// "Sesame <auth@example.com>".
func NewSMTP(rawURL, password, from string) (*SMTP, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail: mail_from %q is not an address", from)
	}
	s := &SMTP{host: u.Hostname(), implicit: u.Scheme == "smtps", from: from, password: password}
	s.port = 587
	if s.implicit {
		s.port = 465
	}
	if p := u.Port(); p != "" {
		s.port, _ = strconv.Atoi(p)
	}
	if u.User != nil {
		s.user = u.User.Username()
	}
	return s, nil
}

// ParseURL checks an smtp_url: scheme smtp or smtps, a host, an optional
// port and user, no password, path or query.
func ParseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("mail: smtp_url is not a URL")
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return nil, errors.New("mail: smtp_url must start with smtp:// or smtps://")
	}
	if u.Hostname() == "" {
		return nil, errors.New("mail: smtp_url has no host")
	}
	if _, hasPw := u.User.Password(); hasPw {
		return nil, errors.New("mail: smtp_url must not hold a password: use smtp_password_file or SESAME_SMTP_PASSWORD")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("mail: smtp_url takes no path or query")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("mail: smtp_url has a bad port")
		}
	}
	return u, nil
}

// Send implements [Sender].
func (s *SMTP) Send(ctx context.Context, r Rendered) error {
	m := gomail.NewMsg()
	if err := m.From(s.from); err != nil {
		return fmt.Errorf("mail: from: %w", err)
	}
	if err := m.To(r.To); err != nil {
		return errors.New("mail: the recipient is not a valid address")
	}
	m.Subject(r.Subject)
	m.SetMessageID()
	m.SetDate()
	m.SetBodyString(gomail.TypeTextPlain, r.Text)
	if r.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	}
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(30 * time.Second),
		gomail.WithTLSConfig(&tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12, RootCAs: s.roots})}
	if s.implicit {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(s.user), gomail.WithPassword(s.password))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}
	return nil
}
