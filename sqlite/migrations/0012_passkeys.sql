-- 0012: passkeys (package passkey, passkey.Store). passkey_users holds each
-- user's random WebAuthn user handle (64 bytes, never the username);
-- passkeys one row per credential: id is Sesame's public ID, credential_id
-- the authenticator's (unique across users), data the library's record
-- (public key, attestation) as JSON, transports comma-separated.
-- passkey_challenges is the state of a ceremony between begin and finish,
-- keyed by the SHA-256 (hex) of its cookie's value, deleted when answered.
-- Times are INTEGER unix nanoseconds UTC as in 0001.
CREATE TABLE passkey_users (
	user_id TEXT NOT NULL PRIMARY KEY,
	handle  BLOB NOT NULL UNIQUE
) STRICT, WITHOUT ROWID;

CREATE TABLE passkeys (
	id              TEXT    NOT NULL PRIMARY KEY,
	user_id         TEXT    NOT NULL,
	credential_id   BLOB    NOT NULL UNIQUE,
	name            TEXT    NOT NULL,
	created_at      INTEGER NOT NULL,
	last_used_at    INTEGER NOT NULL,
	sign_count      INTEGER NOT NULL,
	clone_warning   INTEGER NOT NULL,
	backup_eligible INTEGER NOT NULL,
	backup_state    INTEGER NOT NULL,
	transports      TEXT    NOT NULL,
	data            BLOB    NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

CREATE TABLE passkey_challenges (
	key        TEXT    NOT NULL PRIMARY KEY,
	kind       TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	session_id TEXT    NOT NULL,
	data       BLOB    NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX passkey_challenges_expiry ON passkey_challenges (expires_at);
