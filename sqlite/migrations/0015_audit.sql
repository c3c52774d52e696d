-- 0015: the durable audit log (package audit): one row per lifecycle event
-- (sesame.Event; never a secret, never the user agent). seq orders the rows
-- (AUTOINCREMENT: never reused after a prune); at is INTEGER unix
-- nanoseconds UTC as in 0001. The admin audit view pages by seq, filtered
-- by type or username; the cleanup prunes by at (audit.Retention).
CREATE TABLE audit_events (
	seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	at         INTEGER NOT NULL,
	type       TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	username   TEXT    NOT NULL,
	session_id TEXT    NOT NULL,
	ip         TEXT    NOT NULL,
	reason     TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_type ON audit_events (type, seq);
CREATE INDEX audit_events_user ON audit_events (user_id, seq);
CREATE INDEX audit_events_username ON audit_events (username, seq);
