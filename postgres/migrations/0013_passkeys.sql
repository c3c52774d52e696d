-- 0013: passkeys (package passkey, passkey.Store). passkey_users holds each
-- user's random WebAuthn user handle (64 bytes, never the username);
-- passkeys one row per credential: id is Sesame's public ID, credential_id
-- the authenticator's (unique across users), data the library's record
-- (public key, attestation) as JSON, transports comma-separated.
-- passkey_challenges is the state of a ceremony between begin and finish,
-- keyed by the SHA-256 (hex) of its cookie's value, deleted when answered.
-- Times are bigint unix nanoseconds UTC as in 0001.
CREATE TABLE passkey_users (
	user_id text  NOT NULL PRIMARY KEY,
	handle  bytea NOT NULL UNIQUE
);

CREATE TABLE passkeys (
	id              text    COLLATE "C" NOT NULL PRIMARY KEY,
	user_id         text    NOT NULL,
	credential_id   bytea   NOT NULL UNIQUE,
	name            text    NOT NULL,
	created_at      bigint  NOT NULL,
	last_used_at    bigint  NOT NULL,
	sign_count      bigint  NOT NULL,
	clone_warning   boolean NOT NULL,
	backup_eligible boolean NOT NULL,
	backup_state    boolean NOT NULL,
	transports      text    NOT NULL,
	data            bytea   NOT NULL
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

CREATE TABLE passkey_challenges (
	key        text   NOT NULL PRIMARY KEY,
	kind       text   NOT NULL,
	user_id    text   NOT NULL,
	session_id text   NOT NULL,
	data       bytea  NOT NULL,
	expires_at bigint NOT NULL
);
CREATE INDEX passkey_challenges_expiry ON passkey_challenges (expires_at);
