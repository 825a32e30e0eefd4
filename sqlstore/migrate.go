package sqlstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
)

// Schema returns the statements that create the session table named table
// (or [DefaultTable] when empty), its indexes, its lock table
// (table + "_locks") and its table of remember-me tokens (table +
// "_tokens", see [Store.CreateToken]) for dialect d, and on PostgreSQL and
// MySQL its table of applied operations (table + "_ops", see [Store.Apply]).
// Every statement is idempotent (IF NOT EXISTS), so running them again is
// harmless, and running them on the schema of an earlier version adds what
// is new. [Store.Migrate] runs them; the
// sesame CLI prints them for databases whose schema is managed by hand.
//
// The session table has these columns:
//
//	id          the store key (hex SHA-256 of the session ID), primary key
//	data        the values as one blob, see [store.EncodeValues]
//	user_id     the session's user, "" for none (indexed)
//	ip          the client address at login
//	user_agent  the client's User-Agent at login
//	created     when the session was created
//	last_seen   when it was last written or touched
//	expires     when it expires (indexed, for Load and Prune)
//
// The ops table holds the identity of every change applied in the last two
// [store.RetryWindow]s (id, at most 80 bytes), when it was applied (at,
// indexed, for Prune) and what a Take returned (result).
//
// PostgreSQL stores times as timestamptz, MySQL as DATETIME(6) in UTC, both
// with microsecond precision; SQLite as INTEGER Unix microseconds.
func Schema(d Dialect, table string) ([]string, error) {
	if !d.valid() {
		return nil, fmt.Errorf("sqlstore: unknown dialect %v", d)
	}
	if table == "" {
		table = DefaultTable
	}
	if err := checkTable(table); err != nil {
		return nil, err
	}
	t := d.quote(table)
	locks := d.quote(table + "_locks")
	userIdx := d.quote(table + "_user_id_idx")
	expIdx := d.quote(table + "_expires_idx")
	tokens := d.quote(table + "_tokens")
	tokUserIdx := d.quote(table + "_tokens_user_id_idx")
	tokExpIdx := d.quote(table + "_tokens_expires_idx")
	ops := d.quote(table + "_ops")
	opsAtIdx := d.quote(table + "_ops_at_idx")
	switch d {
	case Postgres:
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + t + ` (
	id         CHAR(64)    NOT NULL PRIMARY KEY,
	data       BYTEA       NOT NULL,
	user_id    TEXT        NOT NULL DEFAULT '',
	ip         TEXT        NOT NULL DEFAULT '',
	user_agent TEXT        NOT NULL DEFAULT '',
	created    TIMESTAMPTZ NOT NULL,
	last_seen  TIMESTAMPTZ NOT NULL,
	expires    TIMESTAMPTZ NOT NULL
)`,
			`CREATE INDEX IF NOT EXISTS ` + userIdx + ` ON ` + t + ` (user_id) WHERE user_id <> ''`,
			`CREATE INDEX IF NOT EXISTS ` + expIdx + ` ON ` + t + ` (expires)`,
			`CREATE TABLE IF NOT EXISTS ` + locks + ` (
	id      CHAR(64)    NOT NULL PRIMARY KEY,
	token   TEXT        NOT NULL,
	expires TIMESTAMPTZ NOT NULL
)`,
			`CREATE TABLE IF NOT EXISTS ` + tokens + ` (
	selector  TEXT        NOT NULL PRIMARY KEY,
	user_id   TEXT        NOT NULL,
	hash      BYTEA       NOT NULL,
	prev_hash BYTEA,
	rotated   TIMESTAMPTZ,
	created   TIMESTAMPTZ NOT NULL,
	expires   TIMESTAMPTZ NOT NULL
)`,
			`CREATE INDEX IF NOT EXISTS ` + tokUserIdx + ` ON ` + tokens + ` (user_id)`,
			`CREATE INDEX IF NOT EXISTS ` + tokExpIdx + ` ON ` + tokens + ` (expires)`,
			`CREATE TABLE IF NOT EXISTS ` + ops + ` (
	id     BYTEA       NOT NULL PRIMARY KEY,
	at     TIMESTAMPTZ NOT NULL,
	result BYTEA
)`,
			`CREATE INDEX IF NOT EXISTS ` + opsAtIdx + ` ON ` + ops + ` (at)`,
		}, nil
	case MySQL:
		// Indexes are declared inline: MySQL (unlike MariaDB) has no
		// CREATE INDEX IF NOT EXISTS. Binary collations make user IDs and
		// tokens compare byte for byte, as in the other stores.
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + t + ` (
	id         CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	data       LONGBLOB     NOT NULL,
	user_id    VARCHAR(255) NOT NULL DEFAULT '',
	ip         VARCHAR(255) NOT NULL DEFAULT '',
	user_agent TEXT         NOT NULL,
	created    DATETIME(6)  NOT NULL,
	last_seen  DATETIME(6)  NOT NULL,
	expires    DATETIME(6)  NOT NULL,
	PRIMARY KEY (id),
	KEY ` + userIdx + ` (user_id),
	KEY ` + expIdx + ` (expires)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS ` + locks + ` (
	id      CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	token   VARCHAR(255) NOT NULL,
	expires DATETIME(6)  NOT NULL,
	PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS ` + tokens + ` (
	selector  VARCHAR(255)   NOT NULL,
	user_id   VARCHAR(255)   NOT NULL,
	hash      VARBINARY(255) NOT NULL,
	prev_hash VARBINARY(255) NULL,
	rotated   DATETIME(6)    NULL,
	created   DATETIME(6)    NOT NULL,
	expires   DATETIME(6)    NOT NULL,
	PRIMARY KEY (selector),
	KEY ` + tokUserIdx + ` (user_id),
	KEY ` + tokExpIdx + ` (expires)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS ` + ops + ` (
	id     VARBINARY(80) NOT NULL,
	at     DATETIME(6)   NOT NULL,
	result LONGBLOB      NULL,
	PRIMARY KEY (id),
	KEY ` + opsAtIdx + ` (at)
) ENGINE=InnoDB`,
		}, nil
	default: // SQLite
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + t + ` (
	id         TEXT    NOT NULL PRIMARY KEY,
	data       BLOB    NOT NULL,
	user_id    TEXT    NOT NULL DEFAULT '',
	ip         TEXT    NOT NULL DEFAULT '',
	user_agent TEXT    NOT NULL DEFAULT '',
	created    INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	expires    INTEGER NOT NULL
) STRICT`,
			`CREATE INDEX IF NOT EXISTS ` + userIdx + ` ON ` + t + ` (user_id) WHERE user_id <> ''`,
			`CREATE INDEX IF NOT EXISTS ` + expIdx + ` ON ` + t + ` (expires)`,
			`CREATE TABLE IF NOT EXISTS ` + locks + ` (
	id      TEXT    NOT NULL PRIMARY KEY,
	token   TEXT    NOT NULL,
	expires INTEGER NOT NULL
) STRICT`,
			`CREATE TABLE IF NOT EXISTS ` + tokens + ` (
	selector  TEXT    NOT NULL PRIMARY KEY,
	user_id   TEXT    NOT NULL,
	hash      BLOB    NOT NULL,
	prev_hash BLOB,
	rotated   INTEGER,
	created   INTEGER NOT NULL,
	expires   INTEGER NOT NULL
) STRICT`,
			`CREATE INDEX IF NOT EXISTS ` + tokUserIdx + ` ON ` + tokens + ` (user_id)`,
			`CREATE INDEX IF NOT EXISTS ` + tokExpIdx + ` ON ` + tokens + ` (expires)`,
		}, nil
	}
}

// Migrate creates the store's tables and indexes if they do not exist (see
// [Schema]). It is idempotent and safe to run from several processes at
// once: on PostgreSQL the statements run in one transaction under an
// advisory lock, MySQL serialises DDL itself, and SQLite runs them under
// the store's write lock in one transaction. On SQLite, Migrate also
// switches the database to WAL mode (a setting kept in the file).
func (s *Store) Migrate(ctx context.Context) error {
	stmts, err := Schema(s.dialect, s.table)
	if err != nil {
		return err
	}
	switch s.dialect {
	case Postgres:
		err = s.pgMigrate(ctx, stmts)
	case MySQL:
		for _, q := range stmts {
			if _, err = s.db.ExecContext(ctx, q); err != nil {
				break
			}
		}
	case SQLite:
		// WAL lets readers run beside the writer, so a store on a database
		// opened without pragmas (New with a plain file name) never sees
		// SQLITE_BUSY from its own reads. The mode is kept in the file, and
		// cannot change inside a transaction.
		if _, err := s.db.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
			return s.dbErr(ctx, "migrate", err)
		}
		_, err := s.inTx(ctx, "migrate", "", func(q querier) ([]byte, error) {
			for _, st := range stmts {
				if _, err := q.ExecContext(ctx, st); err != nil {
					return nil, s.dbErr(ctx, "migrate", err)
				}
			}
			return nil, nil
		})
		return err
	}
	if err != nil {
		return s.dbErr(ctx, "migrate", err)
	}
	return nil
}

func (s *Store) pgMigrate(ctx context.Context, stmts []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	h := fnv.New64a()
	h.Write([]byte("sesame migrate " + s.table))
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return err
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", strings.SplitN(q, "(", 2)[0], err)
		}
	}
	return tx.Commit()
}
