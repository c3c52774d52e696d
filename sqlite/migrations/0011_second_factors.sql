-- 0011: second factors (issue 13).
--
-- sessions.auth is how the session was authenticated (AMR, ACR, the time
-- of the last second factor, and whether it still waits for one), in the
-- encoding of internal/codec (EncodeAuth); NULL for a session made before
-- (read as one factor, the password) and for anonymous sessions.
--
-- factors holds a user's second factors (package factor): kind "totp" has
-- its secret sealed with the master key (as signing keys are). A factor
-- counts only once confirmed_at is set (by its first code). last_step is
-- the highest TOTP time step accepted for it: a code of a step at or below
-- it is a replay (RFC 6238 §5.2, SEC-61). Times are INTEGER unix
-- nanoseconds UTC as in 0001.
--
-- recovery_codes holds the SHA-256 of each single-use recovery code, with
-- the user's ID; a new set replaces the old. factor_requirements is the
-- per-user admin switch that requires a second factor.

ALTER TABLE sessions ADD COLUMN auth BLOB;

CREATE TABLE factors (
	id           TEXT    NOT NULL PRIMARY KEY,
	user_id      TEXT    NOT NULL,
	kind         TEXT    NOT NULL,
	name         TEXT    NOT NULL,
	secret       BLOB    NOT NULL,
	created_at   INTEGER NOT NULL,
	confirmed_at INTEGER,
	last_used_at INTEGER,
	last_step    INTEGER NOT NULL
) STRICT;

CREATE INDEX factors_user ON factors (user_id, created_at, id);

CREATE TABLE recovery_codes (
	user_id    TEXT    NOT NULL,
	hash       BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	used_at    INTEGER,
	PRIMARY KEY (user_id, hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE factor_requirements (
	user_id  TEXT    NOT NULL PRIMARY KEY,
	required INTEGER NOT NULL
) STRICT;
