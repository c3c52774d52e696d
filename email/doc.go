// Package email holds the account operations that go through the user's
// mailbox: the address of an account (unique, normalised: [Normalize]),
// its verification, changing it, the forgotten-password reset and the
// notice of a sign-in from a new device (SEC-48). Messages go through a
// durable [mail.Outbox]; tokens are 256-bit, single use, stored only as
// their SHA-256 and voided by a newer one (SEC-62).
//
// The HTTP server only translates: a forgot-password request is
// [Service.Forgot], which answers the same (nil, or a throttle's
// *account.WaitError) after the same store calls whether or not the login
// names an account; a reset is [Service.Reset].
//
//	svc := &email.Service{Store: db, Accounts: accounts, Outbox: box, Templates: tpl, PublicURL: "https://auth.example"}
//	err := svc.Forgot(ctx, "alice", ip) // 202 whatever the outcome, unless throttled
package email
