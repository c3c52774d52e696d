-- 0011: the webhook outbox (package webhook, webhook.Store). One row per
-- (event, endpoint); id is the webhook-id ("msg_..."), the same on every
-- attempt, COLLATE "C" so that listing pages sort bytewise as Go strings
-- do. Times are bigint unix nanoseconds UTC as in 0001. due_at is the next
-- attempt (or the end of a claim's lease); dead_at is NULL while the
-- message is pending and set once it is dead-lettered: a dead message is
-- never claimed, and `sesame webhooks retry` revives it. Dispatchers of
-- several nodes claim rows with FOR UPDATE SKIP LOCKED.
CREATE TABLE webhook_outbox (
	id         text COLLATE "C" NOT NULL PRIMARY KEY,
	url        text    NOT NULL,
	type       text    NOT NULL,
	payload    bytea   NOT NULL,
	created_at bigint  NOT NULL,
	due_at     bigint  NOT NULL,
	attempts   integer NOT NULL,
	last_error text    NOT NULL,
	dead_at    bigint
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (due_at) WHERE dead_at IS NULL;
