// Package sqlstore keeps sesame sessions in a SQL database: PostgreSQL,
// MySQL or MariaDB, or SQLite (pure Go, no cgo: the embedded default).
//
// A [Store] implements [store.Store] and every optional capability of the
// contract: [store.Pruner], [store.Lister], [store.UserIndex],
// [store.Renamer], [store.Locker] (lock rows in a table beside the
// sessions, shared by every process) and [store.Taker].
//
// # Engines
//
// This package imports no database driver. Each engine is a package of its
// own that links one driver and registers itself with this package:
//
//	github.com/sesamego/sesame/sqlstore/postgres   PostgreSQL through pgx (driver "pgx")
//	github.com/sesamego/sesame/sqlstore/mysql      MySQL and MariaDB through go-sql-driver/mysql (driver "mysql")
//	github.com/sesamego/sesame/sqlstore/sqlite     SQLite through modernc.org/sqlite, pure Go (driver "sqlite")
//
// A program links only the engines it imports: one that keeps sessions in
// PostgreSQL links neither the MySQL nor the SQLite driver, and registers
// no "mysql" or "sqlite" driver with database/sql.
//
// # Opening a store
//
// Each engine package has an Open for its own targets and a New for a
// *sql.DB you opened yourself:
//
//	import "github.com/sesamego/sesame/sqlstore/postgres"
//
//	s, err := postgres.Open(ctx, "postgres://app@db.internal:5432/app?sslmode=verify-full", sqlstore.Options{})
//	if err != nil { ... }
//	defer s.Close()
//	if err := s.Migrate(ctx); err != nil { ... } // creates the tables once
//
// A program that chooses its database at run time imports the engines it
// accepts, for their side effect, and calls [Open], which takes one
// address and picks the engine:
//
//	import (
//		_ "github.com/sesamego/sesame/sqlstore/mysql"
//		_ "github.com/sesamego/sesame/sqlstore/postgres"
//		_ "github.com/sesamego/sesame/sqlstore/sqlite"
//	)
//
//	s, err := sqlstore.Open(ctx, os.Getenv("SESSION_DB"), sqlstore.Options{})
//
// [Open] on a target whose engine is not linked, and [New] on a dialect
// whose engine is not, fail with an error that names the import to add:
//
//	sqlstore: no engine for mysql:// targets: import _ "github.com/sesamego/sesame/sqlstore/mysql"
//
// [New] wraps a *sql.DB you opened yourself, with the driver of its
// [Dialect]. [DialectOf] and [Schema] need no engine.
//
// # Schema
//
// [Store.Migrate] creates one session table (default "sesame_sessions"), a
// lock table, a table of applied changes on PostgreSQL and MySQL (see "At
// most once") and a table of remember-me tokens beside it (the store is also
// a [store.TokenStore] for package remember). A session row holds
// the key (the hex SHA-256 of the session ID, never the ID), the values, the
// user ID (indexed), the client's IP and user agent, and the
// created, last-seen and expiry times (expiry indexed). [Schema] returns the
// same statements as text for databases migrated by hand.
//
// # Migrations
//
// The schema is versioned. Each change to it is a numbered migration, SQL
// for each engine embedded in this package ([Migrations]), and a database
// records the ones applied to it in a table of its own, Table +
// "_migrations". [Store.Migrate] applies the ones it lacks, in order, under
// a lock that makes concurrent migrations from several processes safe
// (pg_advisory_xact_lock on PostgreSQL, GET_LOCK on MySQL, the write lock on
// SQLite), and in one transaction where DDL is transactional (PostgreSQL,
// SQLite). [Store.ApplyMigrations] also says what it applied and
// [Store.PendingMigrations] what it would apply; the CLI's sesame migrate
// prints both (--dry-run). Run Migrate after every upgrade of sesame. A
// database created before the schema was versioned is at version 0, and
// migration 1 (the schema of that time, written with IF NOT EXISTS) passes
// it through unchanged, its sessions intact.
//
// # Atomic changes
//
// The values of a record are one JSON object (the vals column) whose
// members are strings: a value's bytes as they are when they are JSON text
// (so they come back byte for byte), otherwise marked and base64-encoded,
// and compressed when over [Options.CompressThreshold].
//
// On PostgreSQL and MySQL the server applies a change set itself, in one
// statement: it removes and replaces members (jsonb's - and || on
// PostgreSQL, JSON_MERGE_PATCH on MySQL), increments integers in SQL, keeps
// the record's size in a column against [Options.MaxRecordSize], and writes
// the row, so a write is one round trip and the application neither reads
// nor re-encodes the record. The statement proves that its result is the
// one [store.Merge] would give, and otherwise changes nothing: the record
// is live and not a tombstone, the members it replaces are plain JSON text,
// the integers it increments have at most 18 digits, the result stays
// within the size limit. When it cannot (a Push, a compressed value
// replaced, an increment of something that is not an integer, a row of an
// earlier schema version), the change is applied by one short transaction
// that locks the row (SELECT ... FOR UPDATE; BEGIN IMMEDIATE on SQLite),
// merges it in Go with [store.Merge] and writes the row back, which gives
// the exact outcome, error or success. SQLite, in the application's
// process, always does that: a transaction costs it no round trip. Either
// way concurrent requests never lose each other's writes and Increment is
// exact. Creating a session is one INSERT that fails on a live row; a touch
// (new expiry, new user) is one UPDATE; neither can re-create a deleted
// session.
//
// On MySQL, the in-place change and a create are each one transaction sent
// as one batch of statements (one round trip), and the locked transaction
// two batches (START TRANSACTION and the SELECT, then the UPDATE, the ops
// row and COMMIT), like PostgreSQL's pipeline. Batches need the connection
// settings interpolateParams=true and multiStatements=true: [Open] sets
// both. On a *sql.DB without them ([New]), MySQL writes take a round trip
// per statement.
//
// # At most once
//
// On PostgreSQL and MySQL a change reaches the server over a network, and
// a connection can break after COMMIT was sent and before its answer came
// back: the change may or may not have been applied. So every change with
// an ID ([store.Change.ID], which sesame sets on every commit; a Take's id)
// is remembered in a third table, Table + "_ops": its ID (primary key),
// when it was applied, and what a Take returned. The row is inserted in
// the transaction that writes the record (in the in-place statement, or
// its batch on MySQL; on PostgreSQL in the same pipelined round trip as the
// UPDATE and COMMIT of a transaction; a create stays one round trip), so
// it exists exactly when the change was committed. A change
// whose ID is already there is not applied again: the transaction rolls
// back and the original success is returned (a Take returns the value it
// took). A change that failed committed nothing and is not remembered.
//
// With that, the store finds out instead of guessing: a try whose COMMIT
// got no answer is repeated with the same ID until an answer comes or the
// context ends; only then does the call fail with an error wrapping
// [store.ErrOutcomeUnknown]. An error after COMMIT was acknowledged is no
// failure, and errors that prove nothing was committed (the server refused
// a statement, no connection could be made) wrap [store.ErrUnavailable].
// Changes without an ID are not repeated after such a failure. Touches,
// deletes and TryLock (which succeeds again under the token that holds the
// lock) are idempotent and repeated without an ID.
//
// [store.Pruner]'s Prune removes entries older than twice
// [store.RetryWindow]. SQLite is embedded: a change never reaches it twice, so
// it has no ops table and pays nothing.
//
// # Time
//
// Expiry is compared in SQL against the application's clock (the change's
// Now, or time.Now), passed as a parameter, never against the database's
// NOW(): the expiry was computed from the application's clock, Go and SQL
// then agree on which records are live, and tests can control time. Keep
// the clocks of the application servers in sync (NTP). Times are stored
// with microsecond precision.
//
// # SQLite
//
// SQLite has one writer per database at a time. A Store serialises its own
// writes (waiting honours the context) and runs them as BEGIN IMMEDIATE
// transactions, so concurrent Applies never fail with SQLITE_BUSY; readers
// run beside the writer in WAL mode. Other processes writing the same file
// (the sesame CLI pruning, say) wait up to the busy timeout that [Open]
// sets.
//
// # Failures
//
// Every failure of the database (connection refused or lost, a closed
// *sql.DB, a missing table) is an error wrapping [store.ErrUnavailable] and
// the driver's error (or [store.ErrOutcomeUnknown], see above); a done
// context gives the context's error instead. Input no store accepts (field
// names, user IDs: [store.CheckChange]) is refused before any I/O with an
// error wrapping [store.ErrInvalid].
// Connections that broke are replaced by database/sql, so the store recovers
// by itself once the server answers again.
//
// # Durability and speed
//
// Every write commits, and on PostgreSQL and MySQL a commit waits for the
// log to reach the disk, which costs far more than the statements. Sessions
// usually tolerate losing the last fraction of a second of writes when the
// database server crashes (never corruption, and never a lost update
// between requests): on PostgreSQL, add synchronous_commit=off to the URL
// (postgres://...?synchronous_commit=off) to stop waiting for that flush on
// the store's connections only. SQLite databases opened by [Open] use
// synchronous=NORMAL in WAL mode, which is durable across application
// crashes.
//
// # Pruning
//
// Expired rows are invisible at once but stay on disk until [Store.Prune]
// deletes them in batches. Call it from a cron job (sesame prune), or run
// it in the background with [Store.StartPruner], which has an explicit
// stop.
package sqlstore
