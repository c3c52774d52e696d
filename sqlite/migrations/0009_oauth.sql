-- 0009: the OAuth 2 / OpenID Connect provider (package oauth, oauth.Store).
-- Times are INTEGER unix nanoseconds UTC as in 0001, NULL where the Go
-- field is the zero time; lists of strings are JSON arrays. None of these
-- tables references sessions or clients: sessions may live in another
-- store (Redis), and clients of the configuration file are not stored, so
-- DB.DeleteClient removes a client's consents and logout targets itself.

-- Registered clients. secret_hash is the SHA-256 of the client secret
-- (NULL: none); jwks the client's public keys (JSON, NULL: none).
CREATE TABLE oauth_clients (
	id                        TEXT    NOT NULL PRIMARY KEY,
	name                      TEXT    NOT NULL,
	public                    INTEGER NOT NULL,
	secret_hash               BLOB,
	auth_method               TEXT    NOT NULL,
	jwks                      BLOB,
	redirect_uris             TEXT    NOT NULL,
	post_logout_redirect_uris TEXT    NOT NULL,
	backchannel_logout_uri    TEXT    NOT NULL,
	grant_types               TEXT    NOT NULL,
	scopes                    TEXT    NOT NULL,
	resources                 TEXT    NOT NULL,
	first_party               INTEGER NOT NULL,
	id_token_alg              TEXT    NOT NULL,
	created_at                INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Authorization codes: only the SHA-256 of a code is stored. used_at is
-- NULL until the code is redeemed; redemption is a compare-and-swap on it.
-- Expired codes are deleted through the expires index.
CREATE TABLE oauth_codes (
	hash           BLOB    NOT NULL PRIMARY KEY,
	client_id      TEXT    NOT NULL,
	user_id        TEXT    NOT NULL,
	session_id     TEXT    NOT NULL,
	redirect_uri   TEXT    NOT NULL,
	scope          TEXT    NOT NULL,
	resources      TEXT    NOT NULL,
	nonce          TEXT    NOT NULL,
	code_challenge TEXT    NOT NULL,
	auth_time      INTEGER,
	acr            TEXT    NOT NULL,
	amr            TEXT    NOT NULL,
	created_at     INTEGER NOT NULL,
	expires_at     INTEGER NOT NULL,
	used_at        INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

-- What each user granted each client.
CREATE TABLE oauth_consents (
	user_id    TEXT    NOT NULL,
	client_id  TEXT    NOT NULL,
	scopes     TEXT    NOT NULL,
	granted_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, client_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX oauth_consents_client ON oauth_consents (client_id);

-- The back-channel logout outbox: one row per (session, client) that
-- received tokens. due_at is NULL while the session lives; a dispatcher
-- claims due rows by moving due_at ahead (through the due index).
CREATE TABLE oauth_logout_targets (
	session_id TEXT    NOT NULL,
	client_id  TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	due_at     INTEGER,
	attempts   INTEGER NOT NULL,
	last_error TEXT    NOT NULL,
	PRIMARY KEY (session_id, client_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX oauth_logout_targets_due ON oauth_logout_targets (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX oauth_logout_targets_client ON oauth_logout_targets (client_id);

-- The position of each reader of the session revocation feed.
CREATE TABLE oauth_cursors (
	name TEXT    NOT NULL PRIMARY KEY,
	pos  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Keys (a client assertion's issuer and jti) already used, until they
-- expire; deleted through the expires index.
CREATE TABLE oauth_used_keys (
	key        BLOB    NOT NULL PRIMARY KEY,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX oauth_used_keys_expires ON oauth_used_keys (expires_at);
