-- 0016: the durable audit log (package audit): one row per lifecycle event
-- (sesame.Event; never a secret, never the user agent). seq orders the rows
-- (bigserial: several nodes append at once); at is bigint unix nanoseconds
-- UTC as in 0001. The admin audit view pages by seq, filtered by type or
-- username; the cleanup prunes by at (audit.Retention).
CREATE TABLE audit_events (
	seq        bigserial PRIMARY KEY,
	at         bigint NOT NULL,
	type       text   NOT NULL,
	user_id    text   NOT NULL,
	username   text   NOT NULL,
	session_id text   NOT NULL,
	ip         text   NOT NULL,
	reason     text   NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_type ON audit_events (type, seq);
CREATE INDEX audit_events_user ON audit_events (user_id, seq);
CREATE INDEX audit_events_username ON audit_events (username, seq);
