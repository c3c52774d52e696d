-- 0010: the webhook outbox (package webhook, webhook.Store). One row per
-- (event, endpoint); id is the webhook-id ("msg_..."), the same on every
-- attempt. Times are INTEGER unix nanoseconds UTC as in 0001. due_at is
-- the next attempt (or the end of a claim's lease); dead_at is NULL while
-- the message is pending and set once it is dead-lettered: a dead message
-- is never claimed, and `sesame webhooks retry` revives it.
CREATE TABLE webhook_outbox (
	id         TEXT    NOT NULL PRIMARY KEY,
	url        TEXT    NOT NULL,
	type       TEXT    NOT NULL,
	payload    BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	due_at     INTEGER NOT NULL,
	attempts   INTEGER NOT NULL,
	last_error TEXT    NOT NULL,
	dead_at    INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX webhook_outbox_due ON webhook_outbox (due_at) WHERE dead_at IS NULL;
