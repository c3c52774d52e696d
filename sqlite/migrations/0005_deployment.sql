-- 0005: the deployment's identity (package app): what every node and
-- command of one deployment must agree on, recorded by the first `sesame
-- serve`: the token issuer, where session state lives (its kind and a
-- non-secret identity, never a password) and a fingerprint of the master
-- key. One row per item; values are text and never secrets.
CREATE TABLE deployment (
	key        TEXT    NOT NULL PRIMARY KEY,
	value      TEXT    NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
