package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The schema is versioned: each change to it is a numbered migration, one
// SQL file per dialect under migrations/, embedded in the binary. A
// database records the migrations applied to it in a table of its own,
// Table + "_migrations" (version, name, when). Migration 1, "baseline", is
// the schema of the versions before versioning, written with IF NOT
// EXISTS, so a database they created (which has no migrations table) is at
// version 0 and passes through it unchanged.

//go:embed migrations
var migrationFiles embed.FS

// Migration is one numbered step of the schema of a [Store]: the statements
// that take a database from version Version-1 to Version.
type Migration struct {
	// Version is the schema version the migration leads to: 1, 2, ...
	Version int

	// Name says what the migration does, in a word or two ("baseline",
	// "values").
	Name string

	// Statements are the migration's SQL statements for one dialect and
	// table, in order, without a final semicolon.
	Statements []string
}

// migrationName matches the file name of a migration: 0002_values.sql.
var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// placeholder matches the table names in a migration file: {table},
// {table_locks}, ...
var placeholder = regexp.MustCompile(`\{table([a-z_]*)\}`)

// statementEnd splits a migration file into statements: a semicolon at the
// end of a line. The statements hold no other semicolons.
var statementEnd = regexp.MustCompile(`;[ \t]*(\n|$)`)

// Migrations returns every migration of the schema for dialect d and the
// session table named table ([DefaultTable] when empty), oldest first. It
// does no I/O. [Store.Migrate] applies the ones a database lacks;
// [Store.PendingMigrations] says which.
func Migrations(d Dialect, table string) ([]Migration, error) {
	if !d.valid() {
		return nil, fmt.Errorf("sqlstore: unknown dialect %v", d)
	}
	if table == "" {
		table = DefaultTable
	}
	if err := checkTable(table); err != nil {
		return nil, err
	}
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		panic("sqlstore: embedded migrations: " + err.Error())
	}
	var out []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			panic("sqlstore: embedded migration with a bad name: " + e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if v != len(out)+1 {
			panic("sqlstore: embedded migrations are not numbered 1, 2, ...: " + e.Name())
		}
		text, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			panic("sqlstore: embedded migrations: " + err.Error())
		}
		out = append(out, Migration{Version: v, Name: m[2], Statements: statements(d, table, string(text))})
	}
	return out, nil
}

// statements splits the text of a migration file into its statements, with
// the table names of table quoted for d, and comment lines left out.
func statements(d Dialect, table, text string) []string {
	var lines []string
	for line := range strings.Lines(text) {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			lines = append(lines, line)
		}
	}
	text = placeholder.ReplaceAllStringFunc(strings.Join(lines, ""), func(p string) string {
		return d.quote(table + placeholder.FindStringSubmatch(p)[1])
	})
	var out []string
	for _, st := range statementEnd.Split(text, -1) {
		if st = strings.TrimSpace(st); st != "" {
			out = append(out, st)
		}
	}
	return out
}

// SchemaVersion is the schema version this package writes and reads: the
// number of the last of its [Migrations].
const SchemaVersion = 2

// Schema returns the statements that create the schema of the latest
// version ([SchemaVersion]) on a database that has none, for databases
// migrated by hand: the session table named table (or [DefaultTable] when
// empty), its indexes, its lock table (table + "_locks"), its table of
// remember-me tokens (table + "_tokens", see [Store.CreateToken]), on
// PostgreSQL and MySQL its table of applied operations (table + "_ops",
// see [Store.Apply]), and the table of applied migrations (table +
// "_migrations") with a row per migration, so that [Store.Migrate] knows
// them applied. They are the statements of every migration of
// [Migrations], in order; the sesame CLI prints them (sesame migrate
// --print). To bring a database of an earlier version up to date, run
// [Store.Migrate] or apply what [Store.PendingMigrations] returns.
//
// The session table has these columns:
//
//	id          the store key (hex SHA-256 of the session ID), primary key
//	data        the values of a record written before version 2 as one blob
//	            (see [store.EncodeValues]); a single 0 byte in later rows
//	vals        the values as a JSON object of strings (see "Atomic changes")
//	size        the size of the values (see [store.Size])
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
	ms, err := Migrations(d, table)
	if err != nil {
		return nil, err
	}
	if table == "" {
		table = DefaultTable
	}
	out := []string{migrationQueries(d, table).create}
	mt := d.quote(table + "_migrations")
	for _, m := range ms {
		out = append(out, m.Statements...)
		// Names are [a-z0-9_]: no quoting needed.
		values := fmt.Sprintf(" %s (version, name, applied) VALUES (%d, '%s', ", mt, m.Version, m.Name)
		switch d {
		case Postgres:
			out = append(out, "INSERT INTO"+values+"now()) ON CONFLICT (version) DO NOTHING")
		case MySQL:
			out = append(out, "INSERT IGNORE INTO"+values+"UTC_TIMESTAMP(6))")
		default:
			out = append(out, "INSERT OR IGNORE INTO"+values+"CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))")
		}
	}
	return out, nil
}

// migrationSQL are the statements on the migrations table.
type migrationSQL struct {
	create, version, record, exists string // exists: the migrations table's
}

func migrationQueries(d Dialect, table string) migrationSQL {
	mt := d.quote(table + "_migrations")
	var q migrationSQL
	switch d {
	case Postgres:
		q.create = `CREATE TABLE IF NOT EXISTS ` + mt + ` (
	version INTEGER     NOT NULL PRIMARY KEY,
	name    TEXT        NOT NULL,
	applied TIMESTAMPTZ NOT NULL
)`
		q.exists = `SELECT CASE WHEN to_regclass($1) IS NULL THEN 0 ELSE 1 END`
	case MySQL:
		q.create = `CREATE TABLE IF NOT EXISTS ` + mt + ` (
	version INT          NOT NULL,
	name    VARCHAR(255) NOT NULL,
	applied DATETIME(6)  NOT NULL,
	PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`
		q.exists = `SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?`
	default:
		q.create = `CREATE TABLE IF NOT EXISTS ` + mt + ` (
	version INTEGER NOT NULL PRIMARY KEY,
	name    TEXT    NOT NULL,
	applied INTEGER NOT NULL
) STRICT`
		q.exists = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	}
	q.version = `SELECT COALESCE(MAX(version), 0) FROM ` + mt
	q.record = `INSERT INTO ` + mt + ` (version, name, applied) VALUES (?, ?, ?)`
	return q
}

// Version returns the schema version of the store's database: the last
// migration applied to it, 0 when it has none (no tables, or the tables of
// a version of sesame before the schema was versioned).
func (s *Store) Version(ctx context.Context) (int, error) {
	v, err := s.version(ctx, s.db)
	if err != nil {
		return 0, s.dbErr(ctx, "schema version", err)
	}
	return v, nil
}

// version reads the schema version through q. Errors are unclassified.
func (s *Store) version(ctx context.Context, q querier) (int, error) {
	mq := migrationQueries(s.dialect, s.table)
	var n int
	name := s.table + "_migrations"
	if s.dialect == Postgres {
		name = s.dialect.quote(name) // to_regclass takes SQL's syntax
	}
	if err := q.QueryRowContext(ctx, mq.exists, name).Scan(&n); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	var v int
	err := q.QueryRowContext(ctx, mq.version).Scan(&v)
	return v, err
}

// PendingMigrations returns the migrations that [Store.Migrate] would
// apply to the store's database now, oldest first; none when its schema is
// up to date. It changes nothing (sesame migrate --dry-run prints them).
func (s *Store) PendingMigrations(ctx context.Context) ([]Migration, error) {
	v, err := s.Version(ctx)
	if err != nil {
		return nil, err
	}
	return s.pendingAfter(v)
}

func (s *Store) pendingAfter(v int) ([]Migration, error) {
	ms, err := Migrations(s.dialect, s.table)
	if err != nil {
		return nil, err
	}
	if v > len(ms) {
		return nil, fmt.Errorf("sqlstore: the schema of table %s is at version %d, newer than this version of sesame knows (%d): %w",
			s.table, v, len(ms), ErrSchemaTooNew)
	}
	return ms[v:], nil
}

// ErrSchemaTooNew is the error (wrapped) of [Store.Migrate] and
// [Store.PendingMigrations] on a database migrated by a later version of
// sesame, which this one cannot bring up to date.
var ErrSchemaTooNew = errors.New("sqlstore: schema version newer than this package")

// Migrate brings the store's tables up to the latest schema version,
// creating them if they do not exist: see [Store.ApplyMigrations], which
// also returns what it applied. Run it once after every upgrade of sesame;
// it is idempotent, and safe to run from several processes at once.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.ApplyMigrations(ctx)
	return err
}

// ApplyMigrations applies the migrations the store's database lacks (see
// [Migrations]), oldest first, and returns them; none when the schema was
// up to date. A database of a sesame version before the schema was
// versioned is at version 0 and upgrades in place, its sessions intact.
//
// Concurrent callers, in this process or others, are serialised: on
// PostgreSQL by an advisory lock, on MySQL by GET_LOCK, on SQLite by the
// write lock; the second finds the schema up to date. PostgreSQL and SQLite
// apply all the migrations in one transaction, so a failure leaves the
// schema as it was. MySQL commits each DDL statement by itself: each
// migration is recorded once its statements have run, and a migration
// that was cut short runs again from its start (its statements are
// repeatable: a column or table that exists already is kept).
//
// On SQLite, ApplyMigrations also switches the database to WAL mode (a
// setting kept in the file).
func (s *Store) ApplyMigrations(ctx context.Context) ([]Migration, error) {
	var applied []Migration
	var err error
	switch s.dialect {
	case Postgres:
		applied, err = s.migratePostgres(ctx)
	case MySQL:
		applied, err = s.migrateMySQL(ctx)
	default:
		applied, err = s.migrateSQLite(ctx)
	}
	if err != nil {
		var me migrationError
		if errors.As(err, &me) || errors.Is(err, ErrSchemaTooNew) {
			return applied, err
		}
		return applied, s.dbErr(ctx, "migrate", err)
	}
	return applied, nil
}

// migrationError names the migration and statement that failed.
type migrationError struct {
	m    Migration
	stmt string
	err  error
}

func (e migrationError) Error() string {
	first, _, _ := strings.Cut(e.stmt, "\n")
	return fmt.Sprintf("migration %d (%s): %s: %v", e.m.Version, e.m.Name, first, e.err)
}

func (e migrationError) Unwrap() error { return e.err }

// lockName is the name of the advisory lock of the store's migrations.
func (s *Store) lockName() string { return "sesame_migrate_" + s.table }

// run applies ms through q, recording each one after its statements.
// skip, when not nil, says that a statement's error means that it had
// taken effect before (MySQL).
func (s *Store) run(ctx context.Context, q querier, ms []Migration, skip func(error) bool) ([]Migration, error) {
	mq := migrationQueries(s.dialect, s.table)
	var done []Migration
	for _, m := range ms {
		for _, st := range m.Statements {
			if _, err := q.ExecContext(ctx, st); err != nil && (skip == nil || !skip(err)) {
				return done, s.dbErr(ctx, "migrate", migrationError{m, st, err})
			}
		}
		if _, err := q.ExecContext(ctx, s.dialect.rebind(mq.record), m.Version, m.Name, s.dialect.timeArg(s.now())); err != nil {
			return done, s.dbErr(ctx, "migrate", migrationError{m, mq.record, err})
		}
		done = append(done, m)
	}
	return done, nil
}

func (s *Store) migratePostgres(ctx context.Context) ([]Migration, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	h := fnv.New64a()
	h.Write([]byte(s.lockName()))
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, migrationQueries(s.dialect, s.table).create); err != nil {
		return nil, err
	}
	v, err := s.version(ctx, tx)
	if err != nil {
		return nil, err
	}
	ms, err := s.pendingAfter(v)
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	done, err := s.run(ctx, tx, ms, nil)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return done, nil
}

// migrateLockWait bounds how long MySQL's Migrate waits for another
// process's migration.
const migrateLockWait = 5 * time.Minute

func (s *Store) migrateMySQL(ctx context.Context) (done []Migration, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var got sql.NullInt64
	wait := migrateLockWait
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl))
	}
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, ?)`, s.lockName(), max(1, int(wait.Seconds()))).Scan(&got); err != nil {
		return nil, err
	}
	if got.Int64 != 1 {
		return nil, fmt.Errorf("sqlstore: migrate: another process holds the migration lock %s: %w", s.lockName(), context.DeadlineExceeded)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, rerr := conn.ExecContext(rctx, `DO RELEASE_LOCK(?)`, s.lockName()); rerr != nil {
			// The lock dies with the connection: discard it.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if _, err := conn.ExecContext(ctx, migrationQueries(s.dialect, s.table).create); err != nil {
		return nil, err
	}
	v, err := s.version(ctx, conn)
	if err != nil {
		return nil, err
	}
	ms, err := s.pendingAfter(v)
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	return s.run(ctx, conn, ms, s.eng.Exists)
}

func (s *Store) migrateSQLite(ctx context.Context) ([]Migration, error) {
	// WAL lets readers run beside the writer, so a store on a database
	// opened without pragmas (New with a plain file name) never sees
	// SQLITE_BUSY from its own reads. The mode is kept in the file, and
	// cannot change inside a transaction.
	if _, err := s.db.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
		return nil, err
	}
	var done []Migration
	_, err := s.inTx(ctx, "migrate", "", func(q querier) ([]byte, error) {
		done = nil
		if _, err := q.ExecContext(ctx, migrationQueries(s.dialect, s.table).create); err != nil {
			return nil, s.dbErr(ctx, "migrate", err)
		}
		v, err := s.version(ctx, q)
		if err != nil {
			return nil, s.dbErr(ctx, "migrate", err)
		}
		ms, err := s.pendingAfter(v)
		if err != nil || len(ms) == 0 {
			return nil, err
		}
		done, err = s.run(ctx, q, ms, nil)
		return nil, err
	})
	if err != nil {
		return nil, err
	}
	return slices.Clip(done), nil
}
