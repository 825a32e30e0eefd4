package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
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

// maxTxAttempts bounds the runs of one transaction, or of one statement
// that may be repeated, when connections fail in a way that proves the
// previous run took no effect.
const maxTxAttempts = 3

// txFunc is the body of a transaction. It returns classified errors and,
// for a change with an identity, the result to remember with it (a Take's
// value).
type txFunc func(q querier) (result []byte, err error)

// inTx runs fn in one transaction and commits it, with the retries of
// runWrite. id is the operation's identity ("" for none): on the networked
// engines it is inserted into the ops table before COMMIT, so a run whose
// COMMIT may have taken effect is repeated safely, and a change that
// arrives again is recognised. inTx then returns the result remembered by
// the run that committed. Without an identity, a run whose COMMIT may have
// taken effect ends with an error wrapping store.ErrOutcomeUnknown.
func (s *Store) inTx(ctx context.Context, op, id string, fn txFunc) ([]byte, error) {
	id = s.opID(id)
	var result []byte
	err := s.runWrite(ctx, op, id != "", func() (maybe bool, err error) {
		if s.dialect == SQLite {
			result, err = s.sqliteTx(ctx, op, fn)
			return false, err
		}
		result, maybe, err = s.sqlTx(ctx, op, id, fn)
		return maybe, err
	})
	if a, ok := asApplied(err); ok {
		return a.result, nil
	}
	return result, err
}

// sqlTx runs one transaction; maybe reports that it failed at COMMIT in a
// way that leaves its outcome unknown.
func (s *Store) sqlTx(ctx context.Context, op, id string, fn txFunc) (result []byte, maybe bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, s.dbErr(ctx, op, err)
	}
	result, err = fn(tx)
	switch {
	case err == nil && id != "":
		err = s.insertOp(ctx, tx, op, id, result)
	case isLogical(err) && id != "":
		// Maybe the repeat of a change that was applied: the record is
		// gone, the field taken. The row lock is held, so a twin of this
		// change has committed or given up by now.
		if r, found, ferr := s.findOp(ctx, tx, id); ferr != nil {
			err = s.dbErr(ctx, op, ferr)
		} else if found {
			err = appliedError{r}
		}
	}
	if err != nil {
		_ = tx.Rollback()
		if errors.Is(err, errDuplicateOp) {
			if aerr := s.applied(ctx, op, id); aerr != nil {
				return nil, false, aerr
			}
			// Remembered a moment ago and pruned since: cannot happen
			// within the retry window.
			return nil, false, appliedError{}
		}
		return nil, false, err
	}
	if err := tx.Commit(); err != nil {
		return nil, s.maybeApplied(ctx, err), s.dbErr(ctx, op, err)
	}
	return result, false, nil
}

// sqliteTx runs fn in a BEGIN IMMEDIATE transaction on one pinned
// connection, under the store's write lock. database/sql's BeginTx would
// start a deferred transaction (unless the DSN sets _txlock), whose upgrade
// from reader to writer can fail with SQLITE_BUSY at once.
func (s *Store) sqliteTx(ctx context.Context, op string, fn txFunc) (result []byte, err error) {
	if err := s.lockWrite(ctx); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer s.unlockWrite()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, s.dbErr(ctx, op, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return nil, s.dbErr(ctx, op, err)
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
	if result, err = fn(conn); err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		// SQLite answers COMMIT in-process: an error means it did not
		// commit.
		return nil, s.dbErr(ctx, op, err)
	}
	committed = true
	return result, nil
}
