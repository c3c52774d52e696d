-- 0002: users. Usernames are exact: the "C" collation compares and orders
-- bytewise, with no case folding. Times are bigint unix nanoseconds as in
-- 0001.
CREATE TABLE users (
	id            text    NOT NULL PRIMARY KEY,
	username      text    COLLATE "C" NOT NULL UNIQUE,
	password_hash text    NOT NULL,
	admin         boolean NOT NULL,
	blocked       boolean NOT NULL,
	created_at    bigint  NOT NULL,
	updated_at    bigint  NOT NULL
);
