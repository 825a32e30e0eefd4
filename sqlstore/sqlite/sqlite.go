package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/sesamego/sesame/sqlstore"
	_ "github.com/sesamego/sesame/sqlstore/internal/sqliteengine" // registers the engine and the "sqlite" driver
)

// Open opens the SQLite database that target names (sqlite:PATH,
// sqlite::memory:, a file: URI or a path ending in .db, .sqlite or
// .sqlite3) the way [sqlstore.Open] does (WAL mode, a busy timeout of 10 s,
// synchronous=NORMAL, foreign keys on): it checks that the database
// answers and returns a store that closes it. It refuses any other target.
func Open(ctx context.Context, target string, opts sqlstore.Options) (*sqlstore.Store, error) {
	d, err := sqlstore.DialectOf(target)
	if err != nil {
		return nil, err
	}
	if d != sqlstore.SQLite {
		return nil, errors.New("sqlite: not an SQLite target: want sqlite:PATH, file:URI or a path ending in .db, .sqlite or .sqlite3")
	}
	return sqlstore.Open(ctx, target, opts)
}

// New returns a store on db, an SQLite database opened with the
// modernc.org/sqlite driver (sql.Open("sqlite", dsn)), like [sqlstore.New]
// with [sqlstore.SQLite]. The caller keeps ownership of db; when other
// processes write to the same file, open it with a busy timeout
// (_pragma=busy_timeout(10000)) so they wait for each other.
func New(db *sql.DB, opts sqlstore.Options) (*sqlstore.Store, error) {
	return sqlstore.New(db, sqlstore.SQLite, opts)
}
