-- 0001: sessions, their change feed, and users.
--
-- Times are INTEGER unix nanoseconds UTC, clamped to the int64 range; the
-- zero time.Time is stored as the smallest int64. Token hashes are 32-byte
-- BLOBs; prev_token_hash is NULL when the session has no previous token, so
-- the zero hash can never match.

CREATE TABLE sessions (
	id               TEXT    NOT NULL PRIMARY KEY,
	user_id          TEXT    NOT NULL,
	token_hash       BLOB    NOT NULL UNIQUE,
	prev_token_hash  BLOB,
	prev_valid_until INTEGER NOT NULL,
	created_at       INTEGER NOT NULL,
	last_seen        INTEGER NOT NULL,
	idle_timeout     INTEGER NOT NULL,
	expires_at       INTEGER NOT NULL,
	remember         INTEGER NOT NULL,
	auth_time        INTEGER NOT NULL,
	user_agent       TEXT    NOT NULL,
	ip               TEXT    NOT NULL,
	version          INTEGER NOT NULL,
	data             BLOB,
	-- deadline = min(last_seen + idle_timeout, expires_at) without int64
	-- overflow. A generated column cannot fall out of date: Touch and Update
	-- only write last_seen, idle_timeout and expires_at.
	deadline INTEGER NOT NULL GENERATED ALWAYS AS (
		CASE
			WHEN idle_timeout >= 0 AND last_seen > 9223372036854775807 - idle_timeout
				THEN expires_at
			WHEN idle_timeout < 0 AND last_seen < (-9223372036854775807 - 1) - idle_timeout
				THEN (-9223372036854775807 - 1)
			ELSE min(last_seen + idle_timeout, expires_at)
		END
	) STORED
) STRICT;

CREATE INDEX sessions_prev_token_hash ON sessions (prev_token_hash) WHERE prev_token_hash IS NOT NULL;
CREATE INDEX sessions_user_created ON sessions (user_id, created_at, id);
CREATE INDEX sessions_deadline ON sessions (deadline);

-- The change feed. AUTOINCREMENT: a seq is never reused, even after the
-- newest rows are trimmed. kind: 1 revoked (deleted), 2 updated.
CREATE TABLE session_changes (
	seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	kind       INTEGER NOT NULL,
	session_id TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	time       INTEGER NOT NULL
) STRICT;

CREATE INDEX session_changes_time ON session_changes (time);

-- The feed is written by triggers, in the transaction of the statement that
-- changes the session: every deletion of a session row (logout, revoke,
-- block, expiry cleanup, or an operator's DELETE in the sqlite3 shell) is a
-- revocation other processes hear about. Touch does not change version and
-- is not recorded.
CREATE TRIGGER sessions_revoked AFTER DELETE ON sessions
BEGIN
	INSERT INTO session_changes (kind, session_id, user_id, time)
	VALUES (1, OLD.id, OLD.user_id, CAST(unixepoch('subsec') * 1000000000 AS INTEGER));
END;

CREATE TRIGGER sessions_updated AFTER UPDATE OF version ON sessions
WHEN NEW.version <> OLD.version
BEGIN
	INSERT INTO session_changes (kind, session_id, user_id, time)
	VALUES (2, NEW.id, NEW.user_id, CAST(unixepoch('subsec') * 1000000000 AS INTEGER));
END;

-- Usernames are exact: BINARY collation, no case folding.
CREATE TABLE users (
	id            TEXT    NOT NULL PRIMARY KEY,
	username      TEXT    NOT NULL UNIQUE COLLATE BINARY,
	password_hash TEXT    NOT NULL,
	admin         INTEGER NOT NULL,
	blocked       INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;
