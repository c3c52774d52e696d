-- 0003: the server's JWS signing keys (package keyring).
--
-- sealed is the private JWK encrypted with the master key (AES-256-GCM,
-- bound to kid and alg); the database never holds a key in the clear.
-- retired_at is NULL while no retirement is scheduled.
CREATE TABLE signing_keys (
	kid         text   NOT NULL PRIMARY KEY,
	alg         text   NOT NULL,
	sealed      bytea  NOT NULL,
	created_at  bigint NOT NULL,
	activate_at bigint NOT NULL,
	retired_at  bigint
);
