package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"
)

// lockWrite takes the SQLite write lock, waiting at most until ctx is done.
// It does nothing for the other dialects.
func (s *Store) lockWrite(ctx context.Context) error {
	if s.wsem == nil {
		return nil
	}
	select {
	case s.wsem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) unlockWrite() {
	if s.wsem != nil {
		<-s.wsem
	}
}

// maxTxAttempts bounds the runs of one transaction.
const maxTxAttempts = 3

// inTx runs fn in one transaction and commits it. fn returns classified
// errors. A transaction is run again when the database rolled it back to
// break a deadlock (or a serialisation conflict), or when the connection
// broke before COMMIT was sent: in both cases none of it took effect. A
// connection lost during COMMIT leaves the outcome unknown, so that error
// is returned.
func (s *Store) inTx(ctx context.Context, op string, fn func(q querier) error) error {
	for attempt := 1; ; attempt++ {
		var err error
		var committing bool
		if s.dialect == SQLite {
			committing, err = s.sqliteTx(ctx, op, fn)
		} else {
			committing, err = s.sqlTx(ctx, op, fn)
		}
		if err == nil || attempt == maxTxAttempts || ctx.Err() != nil {
			return err
		}
		if !isRetryable(err) && (committing || !isConnLost(err)) {
			return err
		}
	}
}

// sqlTx runs one transaction; committing reports that err came from
// COMMIT.
func (s *Store) sqlTx(ctx context.Context, op string, fn func(q querier) error) (committing bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, s.dbErr(ctx, op, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return true, s.dbErr(ctx, op, err)
	}
	return false, nil
}

// sqliteTx runs fn in a BEGIN IMMEDIATE transaction on one pinned
// connection, under the store's write lock. database/sql's BeginTx would
// start a deferred transaction (unless the DSN sets _txlock), whose upgrade
// from reader to writer can fail with SQLITE_BUSY at once.
func (s *Store) sqliteTx(ctx context.Context, op string, fn func(q querier) error) (committing bool, err error) {
	if err := s.lockWrite(ctx); err != nil {
		return false, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer s.unlockWrite()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, s.dbErr(ctx, op, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return false, s.dbErr(ctx, op, err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		// Roll back even when ctx is done; if that fails the connection's
		// state is unknown, so it is discarded rather than pooled.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(rctx, "ROLLBACK"); err != nil &&
			!strings.Contains(err.Error(), "no transaction is active") {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if err := fn(conn); err != nil {
		return false, err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return true, s.dbErr(ctx, op, err)
	}
	committed = true
	return false, nil
}
