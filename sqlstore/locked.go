package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sesamego/sesame/store"
)

// lockedFunc decides what to write once the row under a key is locked. It
// gets the live row (ok false when there is none) and returns the
// statement and arguments that write the result, or an empty query to
// write nothing; its error, classified, ends the transaction.
type lockedFunc func(rec store.Record, data []byte, ok bool) (query string, args []any, err error)

// lockedUpdate runs one read-modify-write transaction on the live row under
// key: lock the row, call f, run the statement f returns, commit. Changes
// to one row are serialised by the row lock (SQLite: by BEGIN IMMEDIATE),
// so none is lost.
//
// On PostgreSQL the transaction is pipelined through pgx: BEGIN and the
// locking SELECT go in one round trip, the UPDATE and COMMIT in another,
// instead of four, which also halves how long the row stays locked. The
// other engines use database/sql transactions (see inTx).
func (s *Store) lockedUpdate(ctx context.Context, op, key string, now time.Time, f lockedFunc) error {
	nowArg := s.dialect.timeArg(now)
	if s.dialect != Postgres || s.noPipeline {
		return s.inTx(ctx, op, func(q querier) error {
			rec, data, ok, err := scanRecord(q.QueryRowContext(ctx, s.q.lockRow, key, nowArg))
			if err != nil {
				return s.dbErr(ctx, op, err)
			}
			query, args, err := f(rec, data, ok)
			if err != nil || query == "" {
				return err
			}
			if _, err := q.ExecContext(ctx, query, args...); err != nil {
				return s.dbErr(ctx, op, err)
			}
			return nil
		})
	}
	for attempt := 1; ; attempt++ {
		committing, err := s.pgLockedUpdate(ctx, op, key, nowArg, f)
		if err == nil || attempt == maxTxAttempts || ctx.Err() != nil {
			return err
		}
		if !isRetryable(err) && (committing || !isConnLost(err)) {
			return err
		}
	}
}

// pgLockedUpdate is one try of lockedUpdate on PostgreSQL; committing
// reports that err came from COMMIT, whose outcome is then unknown.
func (s *Store) pgLockedUpdate(ctx context.Context, op, key string, nowArg any, f lockedFunc) (committing bool, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, s.dbErr(ctx, op, err)
	}
	defer conn.Close()
	rawErr := conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			err = fmt.Errorf("sqlstore: %s: the Postgres dialect needs the pgx driver, got %T", op, dc)
			return nil
		}
		pc := sc.Conn()
		committing, err = s.pgPipeline(ctx, op, pc, key, nowArg, f)
		if pc.PgConn().TxStatus() == 'I' {
			return nil
		}
		// A failure left the transaction open: roll it back even when ctx
		// is done, or have database/sql discard the connection.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, rerr := pc.Exec(rctx, "rollback"); rerr != nil || pc.PgConn().TxStatus() != 'I' {
			return driver.ErrBadConn
		}
		return nil
	})
	if err == nil && rawErr != nil && !errors.Is(rawErr, driver.ErrBadConn) {
		err = s.dbErr(ctx, op, rawErr)
	}
	return committing, err
}

func (s *Store) pgPipeline(ctx context.Context, op string, pc *pgx.Conn, key string, nowArg any, f lockedFunc) (committing bool, err error) {
	var rec store.Record
	var data []byte
	found := true
	b := &pgx.Batch{}
	b.Queue("begin")
	b.Queue(s.q.lockRow, key, nowArg).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&data, &rec.UserID, &rec.IP, &rec.UserAgent,
			timeCol{&rec.Created}, timeCol{&rec.LastSeen}, timeCol{&rec.Expires})
		if errors.Is(err, pgx.ErrNoRows) {
			found = false
			return nil
		}
		return err
	})
	if err := pc.SendBatch(ctx, b).Close(); err != nil {
		return false, s.dbErr(ctx, op, err)
	}
	query, args, err := f(rec, data, found)
	if err != nil || query == "" {
		if _, rerr := pc.Exec(ctx, "rollback"); rerr != nil && err == nil {
			err = s.dbErr(ctx, op, rerr)
		}
		return false, err
	}
	b = &pgx.Batch{}
	b.Queue(query, args...)
	b.Queue("commit")
	br := pc.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		// The server skips the COMMIT after a failure; the caller rolls
		// the aborted transaction back.
		br.Close()
		return false, s.dbErr(ctx, op, err)
	}
	_, commitErr := br.Exec()
	if cerr := br.Close(); commitErr == nil {
		commitErr = cerr
	}
	if commitErr != nil {
		return true, s.dbErr(ctx, op, commitErr)
	}
	return false, nil
}
