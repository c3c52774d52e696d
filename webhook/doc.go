// Package webhook delivers Sesame's lifecycle events (the audit events,
// [sesame.EventType]) to HTTP endpoints, signed per the Standard Webhooks
// specification (https://github.com/standard-webhooks/standard-webhooks,
// spec/standard-webhooks.md), and gives receivers the check of those
// signatures ([Verify]).
//
// Sending: a [Sink] wraps the deployment's event sink and, for each event
// an endpoint's [Filter] takes, inserts a [Message] into the durable
// outbox ([Store]: SQLite, PostgreSQL or memstore, never Redis); a
// [Dispatcher] on each node claims due messages with a lease, POSTs them
// (body [Payload], headers webhook-id, webhook-timestamp and
// webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>", one
// per secret during a rotation), retries with exponential backoff and
// jitter for about 24 hours, then dead-letters them.
//
// Receiving:
//
//	body, _ := io.ReadAll(r.Body)
//	if err := webhook.Verify([]string{secret}, r.Header, body, time.Now()); err != nil {
//		http.Error(w, "bad signature", http.StatusUnauthorized)
//		return
//	}
//	// r.Header.Get("webhook-id") is the idempotency key: at least once.
//
// See docs/webhooks.md for the payloads, the guarantees (what is atomic
// with an event's cause and what is not) and operations.
package webhook
