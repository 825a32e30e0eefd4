// Package sqlstore keeps sesame sessions in a SQL database: PostgreSQL,
// MySQL or MariaDB, or SQLite (pure Go, no cgo: the embedded default).
//
// A [Store] implements [store.Store] and every optional capability of the
// contract: [store.Pruner], [store.Lister], [store.UserIndex],
// [store.Renamer], [store.Locker] (lock rows in a table beside the
// sessions, shared by every process) and [store.Taker].
//
// # Opening a store
//
// [Open] takes one address and picks the driver:
//
//	s, err := sqlstore.Open(ctx, "postgres://app@db.internal:5432/app?sslmode=verify-full", sqlstore.Options{})
//	s, err := sqlstore.Open(ctx, "mysql://app:secret@db.internal:3306/app", sqlstore.Options{})
//	s, err := sqlstore.Open(ctx, "sqlite:/var/lib/app/sessions.db", sqlstore.Options{})
//	if err != nil { ... }
//	defer s.Close()
//	if err := s.Migrate(ctx); err != nil { ... } // creates the tables once
//
// [New] wraps a *sql.DB you opened yourself, with the driver of its
// [Dialect]: "pgx" (github.com/jackc/pgx/v5/stdlib), "mysql"
// (github.com/go-sql-driver/mysql) or "sqlite" (modernc.org/sqlite). This
// package imports all three, so the drivers are registered.
//
// # Schema
//
// [Store.Migrate] creates one session table (default "sesame_sessions"), a
// lock table and a table of remember-me tokens beside it (the store is also
// a [store.TokenStore] for package remember); [Schema] returns the same
// statements as text for databases migrated by hand. A session row holds
// the key (the hex SHA-256 of the session ID, never the ID), the values as
// one blob, the user ID (indexed), the client's IP and user agent, and the
// created, last-seen and expiry times (expiry indexed). Values are the JSON document of
// [store.EncodeValues] in a binary column, so they come back byte for byte
// and values over [Options.CompressThreshold] (1 KiB) are gzip-compressed.
//
// # Atomic changes
//
// A change set is applied by one short transaction that locks the row
// (SELECT ... FOR UPDATE; BEGIN IMMEDIATE on SQLite), merges the change in
// Go with [store.Merge] and writes the row back, so concurrent requests
// never lose each other's writes and Increment is exact. Creating a session
// is one INSERT that fails on a live row; a touch (new expiry, new user) is
// one UPDATE; neither can re-create a deleted session.
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
// the driver's error; a done context gives the context's error instead.
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
