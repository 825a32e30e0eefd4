// Package engine is the seam between package sqlstore, which imports no
// database driver, and the engines that link one driver each.
//
// An engine fills in an [Engine] with what only its driver knows (how to
// open a database, what its errors mean, how to pipeline statements) and
// registers it from an init function with [Register]. sqlstore looks the
// engine of a dialect up with [Lookup] when it makes a store, so a program
// links exactly the engines it imports.
package engine

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// Engine is what package sqlstore needs of one engine's driver. Every
// function must be safe for concurrent use. A nil function means the
// engine has nothing to say: the error is not of that kind, or the engine
// cannot do it.
type Engine struct {
	// Name is the dialect's name, as sqlstore.Dialect's String method
	// returns it: "postgres", "mysql" or "sqlite".
	Name string

	// Open returns the database that addr names, with the driver
	// settings the store needs, without connecting (package sqlstore sets
	// the pool's limits). addr is, for
	// postgres, the postgres:// or postgresql:// URL; for mysql, the
	// target as given (mysql://URL or mysql:DSN); for sqlite, a file: URI
	// to which the engine adds its connection settings. Its errors start
	// with "sqlstore: " and never repeat addr, which may hold a password.
	Open func(addr string) (*sql.DB, error)

	// Conflict reports whether err says that the database rolled the
	// statement or its transaction back to break a deadlock or a
	// serialisation conflict, or refused it because another connection
	// holds the database: nothing took effect, and running it again may
	// succeed.
	Conflict func(err error) bool

	// ConnLost reports whether err is the driver's or the server's way of
	// saying that the connection broke (the server shut down, the
	// connection was killed), beyond the errors package sqlstore knows
	// itself (driver.ErrBadConn, io.EOF, reset connections, net.Error).
	ConnLost func(err error) bool

	// Duplicate reports whether err is a unique key violation.
	Duplicate func(err error) bool

	// Exists reports whether err says that what a DDL statement creates
	// (a table, a column, an index) exists already: on an engine whose DDL
	// is not transactional (MySQL), a migration cut short is run again,
	// and its statements that had taken effect fail so.
	Exists func(err error) bool

	// NotSent reports whether err proves that a statement never reached
	// the server (no connection could be made), beyond the errors package
	// sqlstore knows itself (driver.ErrBadConn, sql.ErrConnDone, a dial
	// error).
	NotSent func(err error) bool

	// Answer reports whether err is the database's answer to a statement
	// (ok), and if so whether the statement may have taken effect all the
	// same (maybe: the server shut down or killed the connection while
	// the statement ran). An error that is no answer (ok false) leaves the
	// outcome of a write unknown.
	Answer func(err error) (maybe, ok bool)

	// Pipeline returns the pipelining view of a driver connection (what
	// sql.Conn.Raw passes to its function), and false when the connection
	// is not of the engine's driver. Nil means that the engine does not
	// pipeline: transactions go through database/sql.
	Pipeline func(driverConn any) (Conn, bool)

	// Batch runs query, several statements separated by semicolons, with
	// args in one round trip on a driver connection (what sql.Conn.Raw
	// passes to its function), and returns the number of rows each
	// statement affected. When the connection cannot run several
	// statements in one round trip with arguments (go-sql-driver/mysql
	// without interpolateParams or multiStatements), it returns an error
	// wrapping ErrNoBatch, having run nothing. When a statement fails, the
	// server skips the ones after it and Batch rolls back the transaction
	// the statements may have opened; discard reports that it could not,
	// and the connection must not be used again. Nil means that the engine
	// has no batches.
	Batch func(ctx context.Context, driverConn any, query string, args []any) (affected []int64, discard bool, err error)

	// NoBatch reports whether err, the error of a multi-statement query
	// run through database/sql, says that the connection refused it as a
	// whole (MySQL's syntax error at the first semicolon without
	// multiStatements, or the refusal to prepare several statements
	// without interpolateParams): nothing ran.
	NoBatch func(err error) bool
}

// ErrNoBatch is wrapped by the error of Engine.Batch on a connection that
// cannot run batches.
var ErrNoBatch = errors.New("sqlstore: the connection cannot run several statements in one round trip")

// Conn is one connection that pipelines: it sends several statements in
// one round trip and reads their results one by one (PostgreSQL's extended
// protocol through pgx). It is used by one goroutine at a time.
type Conn interface {
	// SendBatch sends stmts in one round trip. The caller reads their
	// results in order and closes the Results before it uses the
	// connection again.
	SendBatch(ctx context.Context, stmts []Stmt) Results

	// Exec runs one statement and returns its command tag.
	Exec(ctx context.Context, query string, args ...any) (tag string, err error)

	// QueryRow runs a query and scans its first row into dest; an error
	// wrapping sql.ErrNoRows means that there was none.
	QueryRow(ctx context.Context, query string, args []any, dest ...any) error

	// Closed reports whether the connection is closed: it broke, or the
	// driver gave it up.
	Closed() bool

	// InTx reports whether the connection is in a transaction, open or
	// failed, which must be rolled back before the connection is used
	// again.
	InTx() bool
}

// Stmt is a statement of a batch.
type Stmt struct {
	Query string
	Args  []any
}

// Results are the results of a batch, read in the order of its
// statements.
type Results interface {
	// Exec reads the result of the next statement and returns its command
	// tag ("COMMIT", "UPDATE 1"; "ROLLBACK" for the COMMIT of a
	// transaction that the server had aborted).
	Exec() (tag string, err error)

	// QueryRow reads the result of the next statement, a query, and scans
	// its first row into dest; an error wrapping sql.ErrNoRows means that
	// there was none.
	QueryRow(dest ...any) error

	// Close reads the results left and returns the first error of the
	// batch. It is safe to call more than once.
	Close() error
}

var (
	mu      sync.RWMutex
	engines = map[string]*Engine{}
)

// Register makes e the engine of its dialect. It panics when e has no
// name or its dialect has an engine already: both are programming
// mistakes.
func Register(e *Engine) {
	mu.Lock()
	defer mu.Unlock()
	if e == nil || e.Name == "" {
		panic("sqlstore: engine without a name")
	}
	if _, dup := engines[e.Name]; dup {
		panic("sqlstore: engine " + e.Name + " registered twice")
	}
	engines[e.Name] = e
}

// Lookup returns the engine registered for the dialect name, or nil when
// none is.
func Lookup(name string) *Engine {
	mu.RLock()
	defer mu.RUnlock()
	return engines[name]
}
