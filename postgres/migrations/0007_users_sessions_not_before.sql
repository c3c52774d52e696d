-- 0007: users.sessions_not_before, the earliest creation time of a session
-- or token that may still act for the user (sesame.User.SessionsNotBefore),
-- set when the user is blocked or their password is reset. bigint unix
-- nanoseconds as in 0001; NULL (every existing user) refuses nothing.
ALTER TABLE users ADD COLUMN sessions_not_before bigint;
