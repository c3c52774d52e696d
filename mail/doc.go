// Package mail sends Sesame's email (address verification, password
// reset, address-change confirmations and notices, new-device notices)
// through a durable outbox: [Outbox.Queue] seals the message with a key
// derived from the master key and stores it (one insert, no network), and
// [Outbox.Run] claims due messages with a lease, sends them over SMTP
// ([SMTP], on github.com/wneessen/go-mail) and deletes them once the
// server accepted them. A send failure is retried on the schedule of
// internal/retry; a process that dies holding a claim gives it back when
// the lease ends, so a crash loses no message (a message may be sent twice
// when a process dies between the server's acceptance and the delete).
//
// The stored message is sealed (AES-256-GCM, the message ID as associated
// data): the reset and verification links it carries, whose tokens are
// stored only as hashes elsewhere, are not readable from the database.
// Nothing here logs a recipient, a subject or a body: a log line names the
// message ID and the attempt.
//
//	box, _ := mail.NewOutbox(mail.Config{Store: db, Sender: smtp, From: "Sesame <auth@example.com>", Key: key})
//	go box.Run(ctx)
//	_ = box.Queue(ctx, mail.Rendered{To: "alice@example.com", Subject: "...", Text: "...", HTML: "..."})
package mail
