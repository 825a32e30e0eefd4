package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/sesamego/sesame/store"
)

// This file holds what makes a change take effect at most once on the
// networked engines (PostgreSQL, MySQL): the table of applied operations,
// and the retry loop that tells "not applied" from "outcome unknown".
//
// Every change with an identity (store.Change.ID, a Take's id) inserts a
// row keyed by that identity into the ops table (Table + "_ops") in the
// transaction that writes the record. A second arrival of the change (the
// store's own retry after a cut connection, or a caller's) hits the primary
// key: the transaction is rolled back and the original success is
// returned. A change that failed committed nothing, so it is not
// remembered. SQLite is embedded: a change never reaches it twice, and it
// has no ops table.

// opRetention is how long the ops table keeps an operation: twice
// store.RetryWindow, so that clocks of application servers a little apart
// still keep every operation for the whole window.
const opRetention = 2 * store.RetryWindow

// maxOpKey is the longest identity stored as it is; longer ones are
// replaced by their SHA-256 (see opKey).
const maxOpKey = 64

// opKey returns the ops table's key for a change identity: the identity
// itself up to 64 bytes, otherwise "sha256:" and its hex digest (71 bytes,
// so it can never equal an identity stored as it is).
func opKey(id string) []byte {
	if len(id) <= maxOpKey {
		return []byte(id)
	}
	sum := sha256.Sum256([]byte(id))
	return []byte("sha256:" + hex.EncodeToString(sum[:]))
}

// dedup reports whether the store remembers change identities: on the
// networked engines.
func (s *Store) dedup() bool { return s.dialect != SQLite }

// opID returns the identity to remember for id, or "" when there is none
// or the store does not remember identities.
func (s *Store) opID(id string) string {
	if !s.dedup() {
		return ""
	}
	return id
}

// opQueries are the statements on the ops table.
type opQueries struct {
	insert, find, prune string
	// createPG creates a record on PostgreSQL and remembers its identity
	// in one statement; see createOnce.
	createPG string
}

func buildOpQueries(d Dialect, table string, batch int) opQueries {
	if d == SQLite {
		return opQueries{}
	}
	o := d.quote(table + "_ops")
	r := d.rebind
	var q opQueries
	q.insert = r(`INSERT INTO ` + o + ` (id, at, result) VALUES (?, ?, ?)`)
	q.find = r(`SELECT result FROM ` + o + ` WHERE id = ?`)
	n := fmt.Sprint(batch)
	if d == MySQL {
		q.prune = `DELETE FROM ` + o + ` WHERE at <= ? LIMIT ` + n
	} else {
		q.prune = r(`DELETE FROM ` + o + ` WHERE id IN (SELECT id FROM ` + o + ` WHERE at <= ? LIMIT ` + n + `)`)
		t := d.quote(table)
		// $1-$10 the record, $11 the store's clock, $12 the identity, $13
		// the time it is remembered from. The record is written only when
		// the identity is not remembered yet, and the identity only when
		// the record was written; a concurrent twin that committed first
		// makes the second INSERT fail with a unique violation. The rows
		// the statement reports are those of the second INSERT: one when
		// the record was written. (Reading rec twice, as in SELECT
		// count(*) FROM rec, cost the server about 55 µs more CPU per
		// create.)
		q.createPG = `WITH rec AS (
	INSERT INTO ` + t + ` (id, ` + insertCols + `)
	SELECT $1::text, $2::bytea, $3::jsonb, $4::bigint, $5::text, $6::text, $7::text, $8::timestamptz, $9::timestamptz, $10::timestamptz
	WHERE NOT EXISTS (SELECT 1 FROM ` + o + ` WHERE id = $12)
	ON CONFLICT (id) DO UPDATE SET data = excluded.data, vals = excluded.vals, size = excluded.size,
		user_id = excluded.user_id, ip = excluded.ip, user_agent = excluded.user_agent,
		created = excluded.created, last_seen = excluded.last_seen, expires = excluded.expires
	WHERE ` + t + `.expires <= $11
	RETURNING 1
)
INSERT INTO ` + o + ` (id, at, result) SELECT $12, $13, NULL FROM rec`
	}
	return q
}

// appliedError says that the change's identity is in the ops table: an
// earlier arrival of the change committed. result is what it remembered
// (a Take's value).
type appliedError struct{ result []byte }

func (appliedError) Error() string { return "sqlstore: change already applied" }

// asApplied returns the appliedError in err's tree, if there is one.
func asApplied(err error) (appliedError, bool) {
	var a appliedError
	ok := errors.As(err, &a)
	return a, ok
}

// insertOp remembers id, with result, in the transaction q. A unique
// violation means an earlier arrival committed: it returns
// errDuplicateOp, and the caller rolls back.
func (s *Store) insertOp(ctx context.Context, q querier, op, id string, result []byte) error {
	_, err := q.ExecContext(ctx, s.oq.insert, opKey(id), s.dialect.timeArg(normTime(s.now())), nullBytes(result))
	if s.isDuplicate(err) {
		return errDuplicateOp
	}
	if err != nil {
		return s.dbErr(ctx, op, err)
	}
	return nil
}

// errDuplicateOp is insertOp's error for an identity already remembered.
var errDuplicateOp = errors.New("sqlstore: operation already applied")

// findOp looks id up in the ops table; found reports whether it is there.
// Errors are unclassified.
func (s *Store) findOp(ctx context.Context, q querier, id string) (result []byte, found bool, err error) {
	err = q.QueryRowContext(ctx, s.oq.find, opKey(id)).Scan(&result)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return result, err == nil, err
}

// applied returns appliedError when id was remembered (looked up through
// the pool, after the caller's transaction ended), the classified error
// of the look-up, or nil when it was not.
func (s *Store) applied(ctx context.Context, op, id string) error {
	result, found, err := s.findOp(ctx, s.db, id)
	switch {
	case err != nil:
		return s.dbErr(ctx, op, err)
	case found:
		return appliedError{result}
	}
	return nil
}

// isLogical reports whether err is the change's own failure (not found,
// not a number, too large, ...) rather than one of the database or the
// context. Such a failure may be the repeat of a change that was applied,
// and is then checked against the ops table.
func isLogical(err error) bool {
	return err != nil && !errors.Is(err, store.ErrUnavailable) && !errors.Is(err, context.Canceled) &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, errDuplicateOp)
}

// notSent reports whether err proves that a statement never reached the
// server: no connection could be made, or the driver refused to use a
// broken one.
func (s *Store) notSent(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	if strings.Contains(err.Error(), "sql: database is closed") {
		return true
	}
	if s.eng.NotSent != nil && s.eng.NotSent(err) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	return false
}

// maybeApplied reports whether a write that failed with err may have taken
// effect: the request may have reached the server, and no answer from the
// server says that it did not. err is the error of an autocommit statement
// or of COMMIT.
func (s *Store) maybeApplied(ctx context.Context, err error) bool {
	if err == nil || s.notSent(err) {
		return false
	}
	if s.eng.Answer != nil {
		// An answer of the server (or of SQLite, in this process) says
		// whether the statement may have taken effect all the same.
		if maybe, ok := s.eng.Answer(err); ok {
			return maybe
		}
	}
	return true
}

// attemptFunc is one try of a write. maybe reports that the try may have
// taken effect although it failed (see maybeApplied).
type attemptFunc func() (maybe bool, err error)

// Backoff between tries after a lost connection.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = 200 * time.Millisecond
)

// runWrite runs a write until it gives a definite answer. A try that the
// database rolled back to break a deadlock is run again. A try that lost
// its connection is run again: at most maxTxAttempts times when it surely
// did not take effect, and until ctx ends when it may have (then the write
// must be repeatable: recognised by its identity, or idempotent). When ctx
// ends (or the write is not repeatable) with the outcome of some try still
// unknown, the error wraps store.ErrOutcomeUnknown; otherwise it is the
// last try's error.
func (s *Store) runWrite(ctx context.Context, op string, repeatable bool, try attemptFunc) error {
	unknown := false
	backoff := time.Duration(0)
	for attempt := 1; ; attempt++ {
		maybe, err := try()
		if err == nil {
			return nil
		}
		if _, ok := asApplied(err); ok {
			return err
		}
		if maybe {
			unknown = true
			if !repeatable {
				return outcomeUnknown(op, err)
			}
		}
		deadlock := s.isRetryable(err)
		if !deadlock && !maybe && !s.isConnLost(err) {
			// A definite answer: a logical failure or a refused
			// statement.
			if unknown && !isLogical(err) {
				return outcomeUnknown(op, err)
			}
			return err
		}
		if ctx.Err() != nil || (!unknown && attempt >= maxDeadlockAttempts) ||
			(!unknown && !deadlock && attempt >= maxTxAttempts) {
			if unknown {
				return outcomeUnknown(op, err)
			}
			return err
		}
		if deadlock {
			// The database rolled the try back (a deadlock victim; SQLite:
			// busy). Trying again at once meets the same transactions
			// again: wait a moment, random so that the victims of one
			// deadlock do not collide once more.
			deadlockPause(ctx, attempt)
			continue
		}
		if backoff == 0 {
			backoff = minBackoff
		} else {
			backoff = min(2*backoff, maxBackoff)
		}
		if attempt == 1 {
			continue // the pool hands out a fresh connection at once
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// maxDeadlockAttempts bounds the runs of a write that the database keeps
// rolling back to break deadlocks. Under a burst (64 concurrent writers on
// 20 connections, TestPoolUnderBurst) InnoDB picks victims among writes of
// different rows (their gap locks in the indexes and the ops table meet),
// and 10 immediate retries were not always enough; with the random pause
// of deadlockPause, 100 is far more than any run needed.
const maxDeadlockAttempts = 100

// deadlockPause waits up to min(attempt, 20) milliseconds, at random, or
// until ctx is done.
func deadlockPause(ctx context.Context, attempt int) {
	t := time.NewTimer(time.Duration(rand.Int64N(int64(min(attempt, 20))*int64(time.Millisecond) + 1)))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// outcomeUnknown wraps err, the error of the last try, with
// store.ErrOutcomeUnknown.
func outcomeUnknown(op string, err error) error {
	return fmt.Errorf("sqlstore: %s: %w (%w)", op, store.ErrOutcomeUnknown, err)
}
