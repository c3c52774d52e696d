-- 0004: login throttle counters (package guard). key is an opaque string
-- built by guard.Limiter ("ip:...", "acct:<sha256>", "acctip:..."); no
-- username is stored. Times are INTEGER unix nanoseconds UTC as in 0001. A
-- counter whose expires_at is at or before now reads as absent; expired
-- rows are deleted by DB.DeleteStaleThrottles through the expires index.
CREATE TABLE throttle (
	key        TEXT    NOT NULL PRIMARY KEY,
	count      INTEGER NOT NULL,
	last_at    INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX throttle_expires ON throttle (expires_at);
