-- 0012: second factors (issue 13).
--
-- sessions.auth is how the session was authenticated (AMR, ACR, the time
-- of the last second factor, and whether it still waits for one), in the
-- encoding of internal/codec (EncodeAuth), as in sqlite 0011; NULL for a session made before
-- (read as one factor, the password) and for anonymous sessions.
--
-- factors holds a user's second factors (package factor): kind "totp" has
-- its secret sealed with the master key (as signing keys are). A factor
-- counts only once confirmed_at is set (by its first code). last_step is
-- the highest TOTP time step accepted for it: a code of a step at or below
-- it is a replay (RFC 6238 §5.2, SEC-61). Times are bigint unix
-- nanoseconds UTC as in 0001.
--
-- recovery_codes holds the SHA-256 of each single-use recovery code, with
-- the user's ID; a new set replaces the old. factor_requirements is the
-- per-user admin switch that requires a second factor.

ALTER TABLE sessions ADD COLUMN auth bytea;

CREATE TABLE factors (
	id           text    NOT NULL PRIMARY KEY,
	user_id      text    NOT NULL,
	kind         text    NOT NULL,
	name         text    NOT NULL,
	secret       bytea   NOT NULL,
	created_at   bigint  NOT NULL,
	confirmed_at bigint,
	last_used_at bigint,
	last_step    bigint  NOT NULL
);

CREATE INDEX factors_user ON factors (user_id, created_at, id);

CREATE TABLE recovery_codes (
	user_id    text    NOT NULL,
	hash       bytea   NOT NULL,
	created_at bigint  NOT NULL,
	used_at    bigint,
	PRIMARY KEY (user_id, hash)
);

CREATE TABLE factor_requirements (
	user_id  text    NOT NULL PRIMARY KEY,
	required boolean NOT NULL
);
