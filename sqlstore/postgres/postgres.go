package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/sesamego/sesame/sqlstore"
	_ "github.com/sesamego/sesame/sqlstore/internal/pgengine" // registers the engine and the "pgx" driver
)

// Open opens the PostgreSQL database that target names, a postgres:// or
// postgresql:// URL passed to pgx as is, the way [sqlstore.Open] does: it
// checks that the database answers and returns a store that closes it. It
// refuses any other target. Errors never repeat target.
func Open(ctx context.Context, target string, opts sqlstore.Options) (*sqlstore.Store, error) {
	d, err := sqlstore.DialectOf(target)
	if err != nil {
		return nil, err
	}
	if d != sqlstore.Postgres {
		return nil, errors.New("postgres: not a PostgreSQL target: want a postgres:// or postgresql:// URL")
	}
	return sqlstore.Open(ctx, target, opts)
}

// New returns a store on db, a PostgreSQL database opened with the pgx
// driver (sql.Open("pgx", url), or stdlib.OpenDB), like [sqlstore.New]
// with [sqlstore.Postgres]. The caller keeps ownership of db.
func New(db *sql.DB, opts sqlstore.Options) (*sqlstore.Store, error) {
	return sqlstore.New(db, sqlstore.Postgres, opts)
}
