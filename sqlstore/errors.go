package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

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
func (s *Store) retry(ctx context.Context, idempotent bool, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt == maxStmtAttempts || ctx.Err() != nil {
			return err
		}
		if !s.isRetryable(err) {
			if !idempotent || attempt >= maxTxAttempts || !s.isConnLost(err) {
				return err
			}
			continue
		}
		deadlockPause(ctx, attempt)
	}
}

// The errors of the driver are classified by the store's engine (see
// package internal/engine), which alone imports the driver.

// isRetryable reports whether err says the database rolled the
// transaction back to break a deadlock or a serialisation conflict, or
// (SQLite) that another connection holds the database: nothing was
// written; try again.
func (s *Store) isRetryable(err error) bool {
	return s.eng.Conflict != nil && s.eng.Conflict(err)
}

// isConnLost reports whether err says that the connection to the database
// broke (the server went away, a network error): a statement that failed
// so, outside COMMIT, took no effect, and a new connection may succeed.
func (s *Store) isConnLost(err error) bool {
	if errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	if s.eng.ConnLost != nil && s.eng.ConnLost(err) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// isDuplicate reports whether err is a duplicate key error.
func (s *Store) isDuplicate(err error) bool {
	return err != nil && s.eng.Duplicate != nil && s.eng.Duplicate(err)
}
