-- 0001: sessions and their change feed.
--
-- Times are bigint unix nanoseconds UTC (timestamptz keeps only
-- microseconds), clamped to the int64 range; the zero time.Time is stored as
-- the smallest int64. Token hashes are 32-byte bytea; prev_token_hash is
-- NULL when the session has no previous token, so the zero hash can never
-- match. The device fields are bytea: a User-Agent truncated to 256 bytes
-- may end inside a UTF-8 sequence, and text would refuse it.

CREATE TABLE sessions (
	id               text    NOT NULL PRIMARY KEY,
	user_id          text    NOT NULL,
	token_hash       bytea   NOT NULL UNIQUE,
	prev_token_hash  bytea,
	prev_valid_until bigint  NOT NULL,
	created_at       bigint  NOT NULL,
	last_seen        bigint  NOT NULL,
	idle_timeout     bigint  NOT NULL,
	expires_at       bigint  NOT NULL,
	remember         boolean NOT NULL,
	auth_time        bigint  NOT NULL,
	user_agent       bytea   NOT NULL,
	ip               bytea   NOT NULL,
	version          bigint  NOT NULL,
	data             bytea,
	-- deadline = least(last_seen + idle_timeout, expires_at) without bigint
	-- overflow (PostgreSQL raises an error where SQLite would wrap). A
	-- generated column cannot fall out of date with the fields it derives
	-- from.
	deadline bigint NOT NULL GENERATED ALWAYS AS (
		CASE
			WHEN idle_timeout >= 0 AND last_seen > 9223372036854775807 - idle_timeout
				THEN expires_at
			WHEN idle_timeout < 0 AND last_seen < (-9223372036854775807 - 1) - idle_timeout
				THEN (-9223372036854775807 - 1)
			ELSE least(last_seen + idle_timeout, expires_at)
		END
	) STORED
);

CREATE INDEX sessions_prev_token_hash ON sessions (prev_token_hash) WHERE prev_token_hash IS NOT NULL;
CREATE INDEX sessions_user_created ON sessions (user_id, created_at, id);
CREATE INDEX sessions_deadline ON sessions (deadline);

-- The change feed. kind: 1 revoked (deleted), 2 updated. The identity
-- sequence hands out each seq once; seqs of rolled-back transactions are
-- gaps, never reused.
CREATE TABLE session_changes (
	seq        bigint   GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME session_changes_seq) PRIMARY KEY,
	kind       smallint NOT NULL,
	session_id text     NOT NULL,
	user_id    text     NOT NULL,
	time       bigint   NOT NULL
);

CREATE INDEX session_changes_time ON session_changes (time);

-- Feed writers are serialised by a transaction-scoped advisory lock taken
-- just before the seq is drawn and held until commit. So seqs become
-- visible in increasing order: a reader that has seen seq n has seen every
-- committed seq below n, and its cursor can never skip a change that
-- commits later. The key is this table's oid under a Sesame prefix, so
-- deployments in different schemas of one database do not share it.
CREATE FUNCTION sesame_feed_lock() RETURNS bigint
	LANGUAGE sql STABLE SET search_path FROM CURRENT
	AS $$ SELECT (1397048900::bigint << 32) | 'session_changes'::regclass::oid::bigint $$;

CREATE FUNCTION sesame_now_nanos() RETURNS bigint
	LANGUAGE sql VOLATILE
	AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000000000)::bigint $$;

-- The feed is written by triggers, in the transaction of the statement
-- that changes the session: every deletion of a session row (logout,
-- revoke, block, expiry cleanup, an operator's DELETE in psql) is a
-- revocation other processes hear about. TRUNCATE bypasses them: never
-- truncate sessions on a live deployment. Touch does not change version and
-- is not recorded.
CREATE FUNCTION sesame_sessions_revoked() RETURNS trigger
	LANGUAGE plpgsql SET search_path FROM CURRENT
	AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM revoked) THEN
		PERFORM pg_advisory_xact_lock(sesame_feed_lock());
		INSERT INTO session_changes (kind, session_id, user_id, time)
		SELECT 1, id, user_id, sesame_now_nanos() FROM revoked ORDER BY id;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER sessions_revoked AFTER DELETE ON sessions
	REFERENCING OLD TABLE AS revoked
	FOR EACH STATEMENT EXECUTE FUNCTION sesame_sessions_revoked();

CREATE FUNCTION sesame_session_updated() RETURNS trigger
	LANGUAGE plpgsql SET search_path FROM CURRENT
	AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(sesame_feed_lock());
	INSERT INTO session_changes (kind, session_id, user_id, time)
	VALUES (2, NEW.id, NEW.user_id, sesame_now_nanos());
	RETURN NULL;
END
$$;

CREATE TRIGGER sessions_updated AFTER UPDATE OF version ON sessions
	FOR EACH ROW WHEN (NEW.version <> OLD.version)
	EXECUTE FUNCTION sesame_session_updated();

-- The seq the next change will get. The shared lock waits for a feed
-- writer in flight, whose seq the sequence already shows, to commit or roll
-- back, so that an empty feed never announces a next seq below a change
-- still to appear.
CREATE FUNCTION sesame_next_change_seq() RETURNS bigint
	LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT
	AS $$
DECLARE
	last   bigint;
	called boolean;
BEGIN
	PERFORM pg_advisory_xact_lock_shared(sesame_feed_lock());
	SELECT last_value, is_called INTO last, called FROM session_changes_seq;
	RETURN CASE WHEN called THEN last + 1 ELSE last END;
END
$$;
