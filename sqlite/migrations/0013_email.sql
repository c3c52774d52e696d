-- 0013: email (packages email and mail). Times are INTEGER unix
-- nanoseconds UTC as in 0001.
--
-- user_emails: one address per user; email as given (domain lower case),
-- email_key its all-lower-case form, unique (email.Key). verified_at NULL
-- until the user followed a verification link.
CREATE TABLE user_emails (
	user_id     TEXT    NOT NULL PRIMARY KEY,
	email       TEXT    NOT NULL,
	email_key   TEXT    NOT NULL UNIQUE,
	verified_at INTEGER
) STRICT, WITHOUT ROWID;

-- email_tokens: verification, change and reset links, by the SHA-256 of
-- the token (never the token). One user has at most one live token per
-- purpose: a new one deletes the others in the same transaction.
CREATE TABLE email_tokens (
	hash       BLOB    NOT NULL PRIMARY KEY,
	user_id    TEXT    NOT NULL,
	purpose    TEXT    NOT NULL,
	email      TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

-- user_devices: the devices (the SHA-256 of a device cookie) each user
-- has signed in from, for new-device notices (SEC-48).
CREATE TABLE user_devices (
	user_id    TEXT    NOT NULL,
	hash       BLOB    NOT NULL,
	first_seen INTEGER NOT NULL,
	PRIMARY KEY (user_id, hash)
) STRICT, WITHOUT ROWID;

-- mail_outbox: messages waiting to be sent, sealed (package mail). due_at
-- is the next attempt or the end of a claim's lease.
CREATE TABLE mail_outbox (
	id         TEXT    NOT NULL PRIMARY KEY,
	body       BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	due_at     INTEGER NOT NULL,
	attempts   INTEGER NOT NULL,
	last_error TEXT    NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX mail_outbox_due ON mail_outbox (due_at);
