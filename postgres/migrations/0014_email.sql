-- 0014: email (packages email and mail). Times are bigint unix
-- nanoseconds UTC as in 0001.
--
-- user_emails: one address per user; email as given (domain lower case),
-- email_key its all-lower-case form, unique (email.Key). verified_at NULL
-- until the user followed a verification link.
CREATE TABLE user_emails (
	user_id     text   NOT NULL PRIMARY KEY,
	email       text   NOT NULL,
	email_key   text   NOT NULL UNIQUE,
	verified_at bigint
);

-- email_tokens: verification, change and reset links, by the SHA-256 of
-- the token (never the token). One user has at most one live token per
-- purpose: a new one deletes the others in the same transaction.
CREATE TABLE email_tokens (
	hash       bytea  NOT NULL PRIMARY KEY,
	user_id    text   NOT NULL,
	purpose    text   NOT NULL,
	email      text   NOT NULL,
	created_at bigint NOT NULL,
	expires_at bigint NOT NULL
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

-- user_devices: the devices (the SHA-256 of a device cookie) each user
-- has signed in from, for new-device notices (SEC-48).
CREATE TABLE user_devices (
	user_id    text   NOT NULL,
	hash       bytea  NOT NULL,
	first_seen bigint NOT NULL,
	PRIMARY KEY (user_id, hash)
);

-- mail_outbox: messages waiting to be sent, sealed (package mail). due_at
-- is the next attempt or the end of a claim's lease; senders of several
-- nodes claim with FOR UPDATE SKIP LOCKED.
CREATE TABLE mail_outbox (
	id         text COLLATE "C" NOT NULL PRIMARY KEY,
	body       bytea   NOT NULL,
	created_at bigint  NOT NULL,
	due_at     bigint  NOT NULL,
	attempts   integer NOT NULL,
	last_error text    NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox (due_at);
