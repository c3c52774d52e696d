package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/email"
	"github.com/sesame-auth/sesame/mail"
)

// The email wiring (keys smtp_url, smtp_password_file, mail_from,
// mail_templates, require_email, require_verified, login_by_email;
// packages email and mail; docs/email.md). Without smtp_url there is no
// mail and none of the email features: the server logs so once.

// WithMailTuning sets the mail outbox's intervals (tests: short retries).
// Default [mail.DefaultTuning].
func WithMailTuning(t mail.Tuning) Option {
	return func(o *options) { o.mailTuning = t }
}

// EmailService is the server's email service, nil without smtp_url.
func (a *App) EmailService() *email.Service { return a.mail }

// Outbox is the mail outbox, nil without smtp_url.
func (a *App) Outbox() *mail.Outbox { return a.outbox }

// buildEmail builds the outbox and the email service from the
// configuration (a server only).
func (a *App) buildEmail() (*email.Service, error) {
	c := a.cfg
	if c.SMTPURL == "" {
		a.logger.Info("mail is off (no smtp_url): no email addresses, verification, password reset or new-device notices")
		return nil, nil
	}
	es, ok := a.durable.(email.Store)
	ms, ok2 := a.durable.(mail.Store)
	if !ok || !ok2 {
		return nil, errors.New("email: the durable store keeps no email data")
	}
	pw, err := smtpPassword(c.SMTPPasswordFile)
	if err != nil {
		return nil, err
	}
	sender, err := mail.NewSMTP(c.SMTPURL, pw, c.MailFrom)
	if err != nil {
		return nil, err
	}
	if c.SMTPCAFile != "" {
		roots, err := mail.LoadCAFile(c.SMTPCAFile)
		if err != nil {
			return nil, fmt.Errorf("smtp_ca_file: %w", err)
		}
		sender.TrustOnly(roots)
	}
	tpl, err := mail.LoadTemplates(c.MailTemplates)
	if err != nil {
		return nil, err
	}
	box, err := mail.NewOutbox(mail.Config{Store: ms, Sender: sender, Key: a.master.Derive("mail outbox", 32),
		Clock: a.opts.clock, Logger: a.logger, Tuning: a.opts.mailTuning})
	if err != nil {
		return nil, err
	}
	a.outbox = box
	a.mail = &email.Service{Store: es, Accounts: a.accounts, Outbox: box, Templates: tpl,
		PublicURL:    strings.TrimSuffix(c.PublicURL, "/"),
		RequireEmail: c.RequireEmail, LoginByEmail: c.LoginByEmail,
		RequireVerifiedLogin: c.RequireVerified == "login",
		RequireVerifiedReset: c.RequireVerified == "login" || c.RequireVerified == "reset",
		Throttle:             a.limiter, Clock: a.opts.clock, Events: a.opts.events, Logger: a.logger}
	return a.mail, nil
}

// smtpPassword is SESAME_SMTP_PASSWORD, else the first line of file, else "".
func smtpPassword(file string) (string, error) {
	if pw := os.Getenv("SESAME_SMTP_PASSWORD"); pw != "" {
		return pw, nil
	}
	if file == "" {
		return "", nil
	}
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("smtp_password_file: %v", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("smtp_password_file %s: empty", file)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// emailCleanupEvery is how often expired email tokens, devices unseen for
// long and stale outbox messages are deleted ([email.DefaultRetention]).
const emailCleanupEvery = 10 * time.Minute

// startMail runs the outbox's sender until ctx ends, and the cleanup of
// the email tables whenever the durable store has them (with or without
// smtp_url: tokens and devices of an earlier configuration expire too).
func (a *App) startMail(ctx context.Context) {
	if a.outbox != nil {
		a.spawn(func() { a.outbox.Run(ctx) })
	}
	es, ok := a.durable.(email.Store)
	if !ok {
		return
	}
	clock, meter := a.Clock(), a.meterCleanup("cleanup_email")
	a.spawn(func() {
		t := time.NewTicker(emailCleanupEvery)
		defer t.Stop()
		for {
			start := time.Now()
			n, err := es.DeleteStale(ctx, clock.Now(), email.DefaultRetention)
			meter(start, err)
			switch {
			case err != nil && ctx.Err() == nil:
				a.logger.Warn("email: deleting expired tokens, old devices and stale mail failed; retried later", "err", err)
			case n > 0:
				a.logger.Info("email: deleted expired tokens, old devices and stale mail", "removed", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}
