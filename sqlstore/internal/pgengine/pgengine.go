// Package pgengine is sqlstore's PostgreSQL engine: the pgx driver
// (github.com/jackc/pgx/v5/stdlib, driver name "pgx"), what its errors
// mean, and the pipelining of statements over a pgx connection. Importing
// it registers the driver and the engine; package sqlstore/postgres is its
// public face.
package pgengine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/sesamego/sesame/sqlstore/internal/engine"
)

func init() {
	engine.Register(&engine.Engine{
		Name:      "postgres",
		Open:      open,
		Conflict:  conflict,
		ConnLost:  connLost,
		Duplicate: duplicate,
		NotSent:   notSent,
		Answer:    answer,
		Pipeline:  pipeline,
	})
}

// open opens the database of a postgres:// URL, which pgx parses.
func open(addr string) (*sql.DB, error) {
	db, err := sql.Open("pgx", addr)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	return db, nil
}

// code returns the SQLSTATE of a server error, and false when err is none.
func code(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, true
	}
	return "", false
}

// conflict: 40P01 deadlock_detected, 40001 serialization_failure.
func conflict(err error) bool {
	c, ok := code(err)
	return ok && (c == "40P01" || c == "40001")
}

// connLost: class 08, connection exception; 57P01-03, the server shut the
// connection down (pg_terminate_backend, restart, recovery).
func connLost(err error) bool {
	c, ok := code(err)
	return ok && (strings.HasPrefix(c, "08") || c == "57P01" || c == "57P02" || c == "57P03")
}

// duplicate: 23505 unique_violation.
func duplicate(err error) bool {
	c, ok := code(err)
	return ok && c == "23505"
}

// notSent: pgx could not connect.
func notSent(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

// answer: the server answered with an error, so nothing was committed,
// unless it is the server going away (class 08, 57P), whose timing is
// uncertain.
func answer(err error) (maybe, ok bool) {
	c, ok := code(err)
	if !ok {
		return false, false
	}
	return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "57P"), true
}

// pipeline returns the pgx connection under a database/sql one.
func pipeline(driverConn any) (engine.Conn, bool) {
	sc, ok := driverConn.(*stdlib.Conn)
	if !ok {
		return nil, false
	}
	return conn{sc.Conn()}, true
}

// conn is an engine.Conn on a pgx connection.
type conn struct{ c *pgx.Conn }

func (c conn) SendBatch(ctx context.Context, stmts []engine.Stmt) engine.Results {
	b := &pgx.Batch{}
	for _, st := range stmts {
		b.Queue(st.Query, st.Args...)
	}
	return results{c.c.SendBatch(ctx, b)}
}

func (c conn) Exec(ctx context.Context, query string, args ...any) (string, error) {
	tag, err := c.c.Exec(ctx, query, args...)
	return tag.String(), err
}

// QueryRow's no-row error, pgx.ErrNoRows, wraps sql.ErrNoRows.
func (c conn) QueryRow(ctx context.Context, query string, args []any, dest ...any) error {
	return c.c.QueryRow(ctx, query, args...).Scan(dest...)
}

func (c conn) Closed() bool { return c.c.PgConn().IsClosed() }

// InTx: 'I' is idle, outside a transaction; 'T' in one, 'E' in a failed
// one.
func (c conn) InTx() bool { return c.c.PgConn().TxStatus() != 'I' }

// results are the engine.Results of a pgx batch.
type results struct{ br pgx.BatchResults }

func (r results) Exec() (string, error) {
	tag, err := r.br.Exec()
	return tag.String(), err
}

func (r results) QueryRow(dest ...any) error { return r.br.QueryRow().Scan(dest...) }

func (r results) Close() error { return r.br.Close() }
