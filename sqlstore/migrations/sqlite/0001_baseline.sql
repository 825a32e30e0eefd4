-- The schema of sesame before versioning: the session, lock, token and
-- (PostgreSQL, MySQL) ops tables. Every statement is idempotent, so a
-- database created by an earlier version passes through unchanged.

CREATE TABLE IF NOT EXISTS {table} (
	id         TEXT    NOT NULL PRIMARY KEY,
	data       BLOB    NOT NULL,
	user_id    TEXT    NOT NULL DEFAULT '',
	ip         TEXT    NOT NULL DEFAULT '',
	user_agent TEXT    NOT NULL DEFAULT '',
	created    INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	expires    INTEGER NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS {table_user_id_idx} ON {table} (user_id) WHERE user_id <> '';

CREATE INDEX IF NOT EXISTS {table_expires_idx} ON {table} (expires);

CREATE TABLE IF NOT EXISTS {table_locks} (
	id      TEXT    NOT NULL PRIMARY KEY,
	token   TEXT    NOT NULL,
	expires INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS {table_tokens} (
	selector  TEXT    NOT NULL PRIMARY KEY,
	user_id   TEXT    NOT NULL,
	hash      BLOB    NOT NULL,
	prev_hash BLOB,
	rotated   INTEGER,
	created   INTEGER NOT NULL,
	expires   INTEGER NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS {table_tokens_user_id_idx} ON {table_tokens} (user_id);

CREATE INDEX IF NOT EXISTS {table_tokens_expires_idx} ON {table_tokens} (expires);
