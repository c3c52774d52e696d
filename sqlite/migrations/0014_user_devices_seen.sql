-- 0014: known devices (0013's user_devices) keep when they were last used
-- to sign in and the user agent of that sign-in (at most 256 bytes), for
-- the account page's device list and the cleanup of devices unused for
-- long (email.DefaultRetention). A device recorded before has its first
-- sign-in as its last.
ALTER TABLE user_devices ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE user_devices ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
UPDATE user_devices SET last_seen = first_seen;
CREATE INDEX user_devices_last_seen ON user_devices (last_seen);
