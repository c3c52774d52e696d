package migrate

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/sesame-auth/sesame/email"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/passkey"
)

// Accounts is what a durable store holds of its users besides the user
// records: passkeys and WebAuthn user handles, email addresses, email
// tokens (hashed), known devices, and the mail outbox (sealed). Passkey
// ceremony state is not copied: it lives for the minutes between the two
// requests of one ceremony (a user in the middle of one starts it again).
type Accounts interface {
	ExportPasskeyHandles(ctx context.Context, fn func(userID string, handle []byte) error) error
	ExportPasskeys(ctx context.Context, fn func(*passkey.Credential) error) error
	ExportEmails(ctx context.Context, fn func(*email.Address) error) error
	ExportEmailTokens(ctx context.Context, fn func(*email.Token) error) error
	ExportDevices(ctx context.Context, fn func(*email.Device) error) error
	ExportMail(ctx context.Context, fn func(*mail.Message) error) error

	PutPasskeyHandle(ctx context.Context, userID string, handle []byte) error
	PutPasskey(ctx context.Context, c *passkey.Credential) error
	RemovePasskey(ctx context.Context, id string) error
	PutEmailAddress(ctx context.Context, a *email.Address) error
	ImportEmailToken(ctx context.Context, t *email.Token) error
	RemoveEmailToken(ctx context.Context, hash []byte) error
	PutDevice(ctx context.Context, d *email.Device) error
	RemoveDevice(ctx context.Context, userID string, hash []byte) error
	PutMail(ctx context.Context, m *mail.Message) error
	DeleteMail(ctx context.Context, id string) error
}

type passkeyHandle struct {
	UserID string
	Handle []byte
}

func init() { kinds = append(kinds, accountKinds...) }

// accountKinds are the kinds of Accounts. Every one but the user handles
// (never removed) mirrors deletions: a passkey the user removed, an
// address removed, a token used, a device forgotten or a message sent in
// the source after a first run must not come back in the target.
var accountKinds = []kind{
	{name: "passkey user handles",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportPasskeyHandles(ctx, func(id string, h []byte) error { return fn(id, &passkeyHandle{UserID: id, Handle: h}) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			h := r.(*passkeyHandle)
			return d.Durable.PutPasskeyHandle(ctx, h.UserID, h.Handle)
		},
		newer: func(t, s any) bool { return false },
		live:  always},
	{name: "passkeys",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportPasskeys(ctx, func(c *passkey.Credential) error { return fn(c.ID, c) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.PutPasskey(ctx, r.(*passkey.Credential))
		},
		newer: func(t, s any) bool { // the sign count and clone warning only grow
			tc, sc := t.(*passkey.Credential), s.(*passkey.Credential)
			return tc.SignCount > sc.SignCount || tc.CloneWarning && !sc.CloneWarning || tc.LastUsedAt.After(sc.LastUsedAt)
		},
		live: always,
		del: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.RemovePasskey(ctx, r.(*passkey.Credential).ID)
		}},
	{name: "email addresses",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportEmails(ctx, func(a *email.Address) error { return fn(a.UserID, a) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.PutEmailAddress(ctx, r.(*email.Address))
		},
		newer: func(t, s any) bool {
			ta, sa := t.(*email.Address), s.(*email.Address)
			return ta.Email == sa.Email && ta.Verified() && !sa.Verified()
		},
		live: always,
		del: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.PutEmailAddress(ctx, &email.Address{UserID: r.(*email.Address).UserID})
		}},
	{name: "email tokens",
		// Still hashed: the target holds no more than the source did.
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportEmailTokens(ctx, func(t *email.Token) error { return fn(hex.EncodeToString(t.Hash), t) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.ImportEmailToken(ctx, r.(*email.Token))
		},
		newer: func(t, s any) bool { return false },
		live:  func(r any, now time.Time, _ map[string]bool) bool { return r.(*email.Token).ExpiresAt.After(now) },
		del: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.RemoveEmailToken(ctx, r.(*email.Token).Hash)
		}},
	{name: "known devices",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportDevices(ctx, func(v *email.Device) error { return fn(v.UserID+"\x00"+hex.EncodeToString(v.Hash), v) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.PutDevice(ctx, r.(*email.Device))
		},
		newer: func(t, s any) bool { return false },
		live:  always,
		del: func(ctx context.Context, d Deployment, r any) error {
			v := r.(*email.Device)
			return d.Durable.RemoveDevice(ctx, v.UserID, v.Hash)
		}},
	{name: "mail outbox",
		// Sealed by the master key, as the source held it: the target's
		// sender opens it with the same key.
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportMail(ctx, func(m *mail.Message) error { return fn(m.ID, m) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.PutMail(ctx, r.(*mail.Message))
		},
		newer: func(t, s any) bool { return t.(*mail.Message).Attempts > s.(*mail.Message).Attempts },
		live:  always,
		del: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.DeleteMail(ctx, r.(*mail.Message).ID)
		}},
}
