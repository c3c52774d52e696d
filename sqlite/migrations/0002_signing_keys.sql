-- 0002: the server's JWS signing keys (package keyring).
--
-- sealed is the private JWK encrypted with the master key (AES-256-GCM,
-- bound to kid and alg); the database never holds a key in the clear.
-- Times are INTEGER unix nanoseconds UTC as in 0001; retired_at is NULL
-- while no retirement is scheduled.

CREATE TABLE signing_keys (
	kid         TEXT    NOT NULL PRIMARY KEY,
	alg         TEXT    NOT NULL,
	sealed      BLOB    NOT NULL,
	created_at  INTEGER NOT NULL,
	activate_at INTEGER NOT NULL,
	retired_at  INTEGER
) STRICT;
