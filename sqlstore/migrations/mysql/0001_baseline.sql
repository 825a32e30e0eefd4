-- The schema of sesame before versioning: the session, lock, token and
-- (PostgreSQL, MySQL) ops tables. Every statement is idempotent, so a
-- database created by an earlier version passes through unchanged.

CREATE TABLE IF NOT EXISTS {table} (
	id         CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	data       LONGBLOB     NOT NULL,
	user_id    VARCHAR(255) NOT NULL DEFAULT '',
	ip         VARCHAR(255) NOT NULL DEFAULT '',
	user_agent TEXT         NOT NULL,
	created    DATETIME(6)  NOT NULL,
	last_seen  DATETIME(6)  NOT NULL,
	expires    DATETIME(6)  NOT NULL,
	PRIMARY KEY (id),
	KEY {table_user_id_idx} (user_id),
	KEY {table_expires_idx} (expires)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {table_locks} (
	id      CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	token   VARCHAR(255) NOT NULL,
	expires DATETIME(6)  NOT NULL,
	PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {table_tokens} (
	selector  VARCHAR(255)   NOT NULL,
	user_id   VARCHAR(255)   NOT NULL,
	hash      VARBINARY(255) NOT NULL,
	prev_hash VARBINARY(255) NULL,
	rotated   DATETIME(6)    NULL,
	created   DATETIME(6)    NOT NULL,
	expires   DATETIME(6)    NOT NULL,
	PRIMARY KEY (selector),
	KEY {table_tokens_user_id_idx} (user_id),
	KEY {table_tokens_expires_idx} (expires)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {table_ops} (
	id     VARBINARY(80) NOT NULL,
	at     DATETIME(6)   NOT NULL,
	result LONGBLOB      NULL,
	PRIMARY KEY (id),
	KEY {table_ops_at_idx} (at)
) ENGINE=InnoDB;
