CREATE TABLE IF NOT EXISTS "sesame_v0tmpl" (
	id         TEXT    NOT NULL PRIMARY KEY,
	data       BLOB    NOT NULL,
	user_id    TEXT    NOT NULL DEFAULT '',
	ip         TEXT    NOT NULL DEFAULT '',
	user_agent TEXT    NOT NULL DEFAULT '',
	created    INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	expires    INTEGER NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS "sesame_v0tmpl_user_id_idx" ON "sesame_v0tmpl" (user_id) WHERE user_id <> '';

CREATE INDEX IF NOT EXISTS "sesame_v0tmpl_expires_idx" ON "sesame_v0tmpl" (expires);

CREATE TABLE IF NOT EXISTS "sesame_v0tmpl_locks" (
	id      TEXT    NOT NULL PRIMARY KEY,
	token   TEXT    NOT NULL,
	expires INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS "sesame_v0tmpl_tokens" (
	selector  TEXT    NOT NULL PRIMARY KEY,
	user_id   TEXT    NOT NULL,
	hash      BLOB    NOT NULL,
	prev_hash BLOB,
	rotated   INTEGER,
	created   INTEGER NOT NULL,
	expires   INTEGER NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS "sesame_v0tmpl_tokens_user_id_idx" ON "sesame_v0tmpl_tokens" (user_id);

CREATE INDEX IF NOT EXISTS "sesame_v0tmpl_tokens_expires_idx" ON "sesame_v0tmpl_tokens" (expires);
