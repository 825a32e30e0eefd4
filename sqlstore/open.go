package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/sesamego/sesame/sqlstore/internal/engine"
)

// Open opens the database that target names, with the engine of its
// dialect and the settings it needs, checks that it answers, and returns a
// store on it that [Store.Close] closes. It does not create tables: call
// [Store.Migrate]. The program must import the engine package of the
// target's dialect (see "Engines" in the package documentation); without
// it, Open fails with an error naming the import. target is one of:
//
//	postgres://user:pass@host:5432/db?sslmode=disable   PostgreSQL, passed to pgx as is
//	postgresql://...                                     the same
//	mysql://user:pass@host:3306/db?tls=true              MySQL or MariaDB (port 3306 by default)
//	mysql://user@/db?socket=/run/mysqld/mysqld.sock      the same over a Unix socket
//	mysql:user:pass@tcp(host:3306)/db                    a go-sql-driver/mysql DSN
//	sqlite:path/to/sessions.db                           SQLite; sqlite::memory: for a private in-memory database
//	file:path/to/sessions.db?mode=rwc                    SQLite through a file: URI
//	path/to/sessions.db (or .sqlite, .sqlite3)           SQLite
//
// The query parameters of a mysql:// URL are go-sql-driver/mysql's. Open
// sets parseTime=true and, unless the target says otherwise,
// interpolateParams=true (one round trip per statement instead of a
// prepare and an execute) and multiStatements=true (a write's statements in
// one round trip; only the store's own statements run on its pool). SQLite databases are opened in WAL mode with a
// busy timeout of 10 s, synchronous=NORMAL and foreign keys on.
//
// Errors never repeat target, which may hold a password. A database that
// does not answer gives an error wrapping [store.ErrUnavailable].
func Open(ctx context.Context, target string, opts Options) (*Store, error) {
	t, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	db, err := t.open()
	if err != nil {
		return nil, err
	}
	s, err := New(db, t.dialect, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ownsDB = true
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, s.dbErr(ctx, "open "+t.dialect.String(), err)
	}
	return s, nil
}

// The pool settings [Open] gives a PostgreSQL or MySQL database. Change
// them with Store.DB().SetMaxOpenConns and its siblings.
//
// DefaultMaxOpenConns caps the connections: without a cap, a burst of
// requests opens a connection per request until the server refuses more
// ("too many connections": PostgreSQL allows 100 and MySQL 151 by default,
// shared by every instance of the application); with it, requests queue
// for a connection instead, which is also faster, since a store call holds
// its connection for one or two round trips only. The pool keeps as many
// idle connections as it may open (database/sql keeps 2 by default, and
// closes every connection beyond that as soon as it is returned: under a
// burst of concurrent requests, each one would then open a connection of
// its own, a TCP and authentication handshake, and close it again). Idle
// connections are closed after DefaultConnMaxIdleTime, so a quiet
// application gives them back to the server, and every connection is
// replaced after DefaultConnMaxLifetime, before servers and middleboxes
// drop it (go-sql-driver/mysql recommends under 5 minutes for MySQL, whose
// wait_timeout may be short). Measured by TestPoolUnderBurst (waves of 64
// concurrent clients for 2 s): with 10 idle connections of 20 the pool
// opened 249 connections to PostgreSQL and 369 to MariaDB, closing all
// but the last 10 again; with these settings it opens 19 and closes none,
// and no request fails.
const (
	// DefaultMaxOpenConns is the most connections the pool opens.
	DefaultMaxOpenConns = 20
	// DefaultMaxIdleConns is the most idle connections the pool keeps:
	// all of them.
	DefaultMaxIdleConns = DefaultMaxOpenConns
	// DefaultConnMaxIdleTime is how long a connection may stay idle.
	DefaultConnMaxIdleTime = 5 * time.Minute
	// DefaultConnMaxLifetime is how long a PostgreSQL connection is used.
	DefaultConnMaxLifetime = 30 * time.Minute
	// MySQLConnMaxLifetime is how long a MySQL connection is used.
	MySQLConnMaxLifetime = 3 * time.Minute
)

// open opens the database of t with its engine, and sets the pool limits
// of its dialect.
func (t target) open() (*sql.DB, error) {
	eng := engine.Lookup(t.dialect.String())
	if eng == nil {
		return nil, fmt.Errorf("sqlstore: no engine for %s targets: import _ %q", t.form, t.dialect.enginePath())
	}
	db, err := eng.Open(t.addr)
	if err != nil {
		return nil, err
	}
	switch {
	case t.memory:
		// Every connection to :memory: is a database of its own: keep
		// exactly one, forever.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	case t.dialect == SQLite:
		n := max(4, runtime.GOMAXPROCS(0))
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
	default:
		setPool(db, t.dialect)
	}
	return db, nil
}

// setPool gives db the pool settings of a networked dialect.
func setPool(db *sql.DB, d Dialect) {
	db.SetMaxOpenConns(DefaultMaxOpenConns)
	db.SetMaxIdleConns(DefaultMaxIdleConns)
	db.SetConnMaxIdleTime(DefaultConnMaxIdleTime)
	if d == MySQL {
		db.SetConnMaxLifetime(MySQLConnMaxLifetime)
	} else {
		db.SetConnMaxLifetime(DefaultConnMaxLifetime)
	}
}

// DialectOf returns the dialect of a target that [Open] accepts, without
// opening anything and without the dialect's engine. It checks the form of
// target, not the driver's part of it (a MySQL DSN's parameters), which
// Open checks.
func DialectOf(target string) (Dialect, error) {
	t, err := parseTarget(target)
	if err != nil {
		return 0, err
	}
	return t.dialect, nil
}

// target is a parsed [Open] argument.
type target struct {
	dialect Dialect
	addr    string // what the engine's Open takes (see engine.Engine)
	form    string // the form of the target, for errors: "postgres://", "mysql:", ...
	memory  bool   // an SQLite in-memory database
}

// errTarget says which forms Open understands without echoing the target.
var errTarget = errors.New("sqlstore: unknown database: want postgres://, postgresql://, mysql://, mysql:DSN, sqlite:PATH, file:URI or a path ending in .db, .sqlite or .sqlite3")

// parseTarget decides the dialect of s and what its engine opens. It
// checks the form of s, but not the driver's part of it (a MySQL DSN, the
// query parameters of a URL): the engine's Open does.
func parseTarget(s string) (target, error) {
	scheme, rest, _ := strings.Cut(s, ":")
	form := strings.ToLower(scheme) + ":"
	if strings.HasPrefix(rest, "//") {
		form += "//"
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		if !strings.HasPrefix(rest, "//") {
			return target{}, errTarget
		}
		return target{dialect: Postgres, addr: s, form: form}, nil
	case "mysql":
		return target{dialect: MySQL, addr: s, form: form}, nil
	case "sqlite", "sqlite3":
		path := strings.TrimPrefix(rest, "//") // sqlite:///abs/path or sqlite://rel/path
		if path == "" {
			return target{}, errors.New("sqlstore: sqlite: target without a path")
		}
		if path == ":memory:" {
			return target{dialect: SQLite, addr: "file::memory:", form: form, memory: true}, nil
		}
		u := url.URL{Scheme: "file", OmitHost: true, Path: path}
		return target{dialect: SQLite, addr: u.String(), form: form}, nil
	case "file":
		mem := strings.HasPrefix(rest, ":memory:") || strings.Contains(rest, "mode=memory")
		return target{dialect: SQLite, addr: s, form: form, memory: mem}, nil
	}
	lower := strings.ToLower(s)
	if !strings.Contains(s, "://") && (strings.HasSuffix(lower, ".db") || strings.HasSuffix(lower, ".sqlite") || strings.HasSuffix(lower, ".sqlite3")) {
		u := url.URL{Scheme: "file", OmitHost: true, Path: s}
		return target{dialect: SQLite, addr: u.String(), form: "SQLite file"}, nil
	}
	return target{}, errTarget
}
