-- 0005: login throttle counters (package guard). key is an opaque string
-- built by guard.Limiter; no username is stored. A counter whose expires_at
-- is at or before now reads as absent; expired rows are deleted by
-- DB.DeleteStaleThrottles through the expires index.
CREATE TABLE throttle (
	key        text   NOT NULL PRIMARY KEY,
	count      bigint NOT NULL,
	last_at    bigint NOT NULL,
	expires_at bigint NOT NULL
);

CREATE INDEX throttle_expires ON throttle (expires_at);
