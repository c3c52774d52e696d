-- 0010: the OAuth 2 / OpenID Connect provider (package oauth, oauth.Store).
-- Times are bigint unix nanoseconds UTC as in 0001, NULL where the Go field
-- is the zero time. None of these tables references sessions or clients:
-- sessions may live in another store (Redis), and clients of the
-- configuration file are not stored, so DB.DeleteClient removes a client's
-- consents and logout targets itself. Identifiers that are listed in
-- order are COLLATE "C", so that they sort bytewise as Go strings do and
-- their primary key serves the order.

-- Registered clients. secret_hash is the SHA-256 of the client secret
-- (NULL: none); jwks the client's public keys (JSON, NULL: none).
CREATE TABLE oauth_clients (
	id                        text COLLATE "C" NOT NULL PRIMARY KEY,
	name                      text    NOT NULL,
	public                    boolean NOT NULL,
	secret_hash               bytea,
	auth_method               text    NOT NULL,
	jwks                      bytea,
	redirect_uris             text[]  NOT NULL,
	post_logout_redirect_uris text[]  NOT NULL,
	backchannel_logout_uri    text    NOT NULL,
	grant_types               text[]  NOT NULL,
	scopes                    text[]  NOT NULL,
	resources                 text[]  NOT NULL,
	first_party               boolean NOT NULL,
	id_token_alg              text    NOT NULL,
	created_at                bigint  NOT NULL
);

-- Authorization codes: only the SHA-256 of a code is stored. used_at is
-- NULL until the code is redeemed; redemption is a compare-and-swap on it.
-- Expired codes are deleted through the expires index.
CREATE TABLE oauth_codes (
	hash           bytea  NOT NULL PRIMARY KEY,
	client_id      text   NOT NULL,
	user_id        text   NOT NULL,
	session_id     text   NOT NULL,
	redirect_uri   text   NOT NULL,
	scope          text   NOT NULL,
	resources      text[] NOT NULL,
	nonce          text   NOT NULL,
	code_challenge text   NOT NULL,
	auth_time      bigint,
	acr            text   NOT NULL,
	amr            text[] NOT NULL,
	created_at     bigint NOT NULL,
	expires_at     bigint NOT NULL,
	used_at        bigint
);

CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

-- What each user granted each client.
CREATE TABLE oauth_consents (
	user_id    text   NOT NULL,
	client_id  text   NOT NULL,
	scopes     text[] NOT NULL,
	granted_at bigint NOT NULL,
	PRIMARY KEY (user_id, client_id)
);

CREATE INDEX oauth_consents_client ON oauth_consents (client_id);

-- The back-channel logout outbox: one row per (session, client) that
-- received tokens. due_at is NULL while the session lives; dispatchers
-- claim due rows by moving due_at ahead (through the due index, FOR
-- UPDATE SKIP LOCKED).
CREATE TABLE oauth_logout_targets (
	session_id text COLLATE "C" NOT NULL,
	client_id  text COLLATE "C" NOT NULL,
	user_id    text   NOT NULL,
	created_at bigint NOT NULL,
	due_at     bigint,
	attempts   integer NOT NULL,
	last_error text   NOT NULL,
	PRIMARY KEY (session_id, client_id)
);

CREATE INDEX oauth_logout_targets_due ON oauth_logout_targets (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX oauth_logout_targets_client ON oauth_logout_targets (client_id);

-- The position of each reader of the session revocation feed.
CREATE TABLE oauth_cursors (
	name text   NOT NULL PRIMARY KEY,
	pos  bigint NOT NULL
);

-- Keys (a client assertion's issuer and jti) already used, until they
-- expire; deleted through the expires index. bytea: any bytes are a key.
CREATE TABLE oauth_used_keys (
	key        bytea  NOT NULL PRIMARY KEY,
	expires_at bigint NOT NULL
);

CREATE INDEX oauth_used_keys_expires ON oauth_used_keys (expires_at);
