package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/sesamego/sesame/store"
)

// dbErr classifies an error from the database: the context's error when
// ctx is done, otherwise an error wrapping both [store.ErrUnavailable] and
// err.
func (s *Store) dbErr(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		return fmt.Errorf("sqlstore: %s: %w (%w)", op, cerr, err)
	}
	return fmt.Errorf("sqlstore: %s: %w: %w", op, store.ErrUnavailable, err)
}

// maxStmtAttempts bounds the runs of a statement outside a transaction
// that InnoDB rolled back as a deadlock victim.
const maxStmtAttempts = 10

// retry calls f, which runs statements outside a transaction, again while
// the database reports that it rolled f's statement back to break a
// deadlock (InnoDB does that even to single statements, such as concurrent
// INSERTs of one key while another session deletes it): nothing of it took
// effect. When f is idempotent (a read, a delete, a touch), it also runs f
// again on a fresh connection, at most maxTxAttempts times, when the
// connection broke, so a server restart costs no error.
func retry(ctx context.Context, idempotent bool, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt == maxStmtAttempts || ctx.Err() != nil {
			return err
		}
		if !isRetryable(err) && (!idempotent || attempt >= maxTxAttempts || !isConnLost(err)) {
			return err
		}
	}
}

// isRetryable reports whether err says the database rolled the
// transaction back to break a deadlock or a serialisation conflict.
func isRetryable(err error) bool {
	if c := sqliteCode(err); c == sqliteBusy || c == sqliteLocked {
		// Another connection holds the database (a checkpoint, a plain
		// DSN without busy_timeout): nothing was written; try again.
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40P01" || pe.Code == "40001"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 // ER_LOCK_DEADLOCK
	}
	return false
}

// isConnLost reports whether err says that the connection to the database
// broke (the server went away, a network error): a statement that failed
// so, outside COMMIT, took no effect, and a new connection may succeed.
func isConnLost(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-03: the server shut the
		// connection down (pg_terminate_backend, restart, recovery).
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		// Server shutdown in progress; connection was killed.
		return me.Number == 1053 || me.Number == 1927
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// isDuplicate reports whether err is MySQL's duplicate key error.
func isDuplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062 // ER_DUP_ENTRY
}

// SQLite's primary result codes that mean "busy, try again".
const (
	sqliteBusy   = 5 // SQLITE_BUSY
	sqliteLocked = 6 // SQLITE_LOCKED
)

// sqliteCode returns the primary result code of a SQLite error, or 0 when
// err is not one.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}
