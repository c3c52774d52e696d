-- 0004: refresh tokens (package token). Only the SHA-256 of a token is
-- stored. A token belongs to a session: deleting the session (logout,
-- revoke, block, expiry) deletes its tokens through the foreign key, so no
-- refresh token outlives its session. used_at is NULL until the token is
-- redeemed; redemption is a compare-and-swap on it.
CREATE TABLE refresh_tokens (
	hash              bytea  NOT NULL PRIMARY KEY,
	family_id         text   NOT NULL,
	session_id        text   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	user_id           text   NOT NULL,
	client_id         text   NOT NULL,
	scope             text   NOT NULL,
	access_jti        text   NOT NULL,
	created_at        bigint NOT NULL,
	expires_at        bigint NOT NULL,
	family_expires_at bigint NOT NULL,
	used_at           bigint
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
