-- The schema of sesame before versioning: the session, lock, token and
-- (PostgreSQL, MySQL) ops tables. Every statement is idempotent, so a
-- database created by an earlier version passes through unchanged.

CREATE TABLE IF NOT EXISTS {table} (
	id         CHAR(64)    NOT NULL PRIMARY KEY,
	data       BYTEA       NOT NULL,
	user_id    TEXT        NOT NULL DEFAULT '',
	ip         TEXT        NOT NULL DEFAULT '',
	user_agent TEXT        NOT NULL DEFAULT '',
	created    TIMESTAMPTZ NOT NULL,
	last_seen  TIMESTAMPTZ NOT NULL,
	expires    TIMESTAMPTZ NOT NULL
);

CREATE INDEX IF NOT EXISTS {table_user_id_idx} ON {table} (user_id) WHERE user_id <> '';

CREATE INDEX IF NOT EXISTS {table_expires_idx} ON {table} (expires);

CREATE TABLE IF NOT EXISTS {table_locks} (
	id      CHAR(64)    NOT NULL PRIMARY KEY,
	token   TEXT        NOT NULL,
	expires TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS {table_tokens} (
	selector  TEXT        NOT NULL PRIMARY KEY,
	user_id   TEXT        NOT NULL,
	hash      BYTEA       NOT NULL,
	prev_hash BYTEA,
	rotated   TIMESTAMPTZ,
	created   TIMESTAMPTZ NOT NULL,
	expires   TIMESTAMPTZ NOT NULL
);

CREATE INDEX IF NOT EXISTS {table_tokens_user_id_idx} ON {table_tokens} (user_id);

CREATE INDEX IF NOT EXISTS {table_tokens_expires_idx} ON {table_tokens} (expires);

CREATE TABLE IF NOT EXISTS {table_ops} (
	id     BYTEA       NOT NULL PRIMARY KEY,
	at     TIMESTAMPTZ NOT NULL,
	result BYTEA
);

CREATE INDEX IF NOT EXISTS {table_ops_at_idx} ON {table_ops} (at);
