CREATE TABLE IF NOT EXISTS "sesame_v0tmpl" (
	id         CHAR(64)    NOT NULL PRIMARY KEY,
	data       BYTEA       NOT NULL,
	user_id    TEXT        NOT NULL DEFAULT '',
	ip         TEXT        NOT NULL DEFAULT '',
	user_agent TEXT        NOT NULL DEFAULT '',
	created    TIMESTAMPTZ NOT NULL,
	last_seen  TIMESTAMPTZ NOT NULL,
	expires    TIMESTAMPTZ NOT NULL
);

CREATE INDEX IF NOT EXISTS "sesame_v0tmpl_user_id_idx" ON "sesame_v0tmpl" (user_id) WHERE user_id <> '';

CREATE INDEX IF NOT EXISTS "sesame_v0tmpl_expires_idx" ON "sesame_v0tmpl" (expires);

CREATE TABLE IF NOT EXISTS "sesame_v0tmpl_locks" (
	id      CHAR(64)    NOT NULL PRIMARY KEY,
	token   TEXT        NOT NULL,
	expires TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS "sesame_v0tmpl_tokens" (
	selector  TEXT        NOT NULL PRIMARY KEY,
	user_id   TEXT        NOT NULL,
	hash      BYTEA       NOT NULL,
	prev_hash BYTEA,
	rotated   TIMESTAMPTZ,
	created   TIMESTAMPTZ NOT NULL,
	expires   TIMESTAMPTZ NOT NULL
);

CREATE INDEX IF NOT EXISTS "sesame_v0tmpl_tokens_user_id_idx" ON "sesame_v0tmpl_tokens" (user_id);

CREATE INDEX IF NOT EXISTS "sesame_v0tmpl_tokens_expires_idx" ON "sesame_v0tmpl_tokens" (expires);

CREATE TABLE IF NOT EXISTS "sesame_v0tmpl_ops" (
	id     BYTEA       NOT NULL PRIMARY KEY,
	at     TIMESTAMPTZ NOT NULL,
	result BYTEA
);

CREATE INDEX IF NOT EXISTS "sesame_v0tmpl_ops_at_idx" ON "sesame_v0tmpl_ops" (at);
