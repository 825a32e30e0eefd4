package mysql

import (
	"context"
	"database/sql"
	"errors"

	"github.com/sesamego/sesame/sqlstore"
	_ "github.com/sesamego/sesame/sqlstore/internal/mysqlengine" // registers the engine and the "mysql" driver
)

// Open opens the MySQL or MariaDB database that target names, a mysql://
// URL or a mysql:DSN target, the way [sqlstore.Open] does (with
// parseTime=true and, unless the target says otherwise,
// interpolateParams=true and multiStatements=true): it checks that the database answers and returns
// a store that closes it. It refuses any other target. Errors never repeat
// target.
func Open(ctx context.Context, target string, opts sqlstore.Options) (*sqlstore.Store, error) {
	d, err := sqlstore.DialectOf(target)
	if err != nil {
		return nil, err
	}
	if d != sqlstore.MySQL {
		return nil, errors.New("mysql: not a MySQL target: want a mysql:// URL or mysql:DSN")
	}
	return sqlstore.Open(ctx, target, opts)
}

// New returns a store on db, a MySQL or MariaDB database opened with the
// go-sql-driver/mysql driver (sql.Open("mysql", dsn), or sql.OpenDB with
// its connector), like [sqlstore.New] with [sqlstore.MySQL]. The caller
// keeps ownership of db; a DSN with interpolateParams=true saves a round
// trip per statement, and with multiStatements=true as well a write is one
// round trip.
func New(db *sql.DB, opts sqlstore.Options) (*sqlstore.Store, error) {
	return sqlstore.New(db, sqlstore.MySQL, opts)
}
