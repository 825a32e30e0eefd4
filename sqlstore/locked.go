package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/sesamego/sesame/sqlstore/internal/engine"
	"github.com/sesamego/sesame/store"
)

// lockedFunc decides what to write once the row under a key is locked. It
// gets the live row (ok false when there is none) and returns the write,
// or a write with an empty query to write nothing; its error, classified,
// ends the transaction.
type lockedFunc func(rec store.Record, raw rawValues, ok bool) (w write, err error)

// write is a statement that writes a row, and the result to remember with
// the operation's identity (a Take's value).
type write struct {
	query  string
	args   []any
	result []byte
}

// lockedUpdate runs one read-modify-write transaction on the live row under
// key: lock the row, call f, run the statement f returns, remember id (see
// inTx), commit. Changes to one row are serialised by the row lock (SQLite:
// by BEGIN IMMEDIATE), so none is lost. It returns the result of f's write,
// or the one remembered under id when the operation was applied before.
//
// On an engine that pipelines (PostgreSQL through pgx) the transaction
// takes two round trips: BEGIN and the locking SELECT go in one, the
// UPDATE, the INSERT into the ops table and COMMIT in another, instead of
// five, which also shortens how long the row stays locked. On MySQL the
// same two round trips are two batches of statements (see batchedUpdate).
// SQLite, and MySQL pools that cannot run batches, use database/sql
// transactions (see inTx).
func (s *Store) lockedUpdate(ctx context.Context, op, key, id string, now time.Time, f lockedFunc) ([]byte, error) {
	nowArg := s.dialect.timeArg(now)
	if s.dialect == MySQL && s.eng.Batch != nil && !s.noBatch.Load() && !s.noPipeline {
		id := s.opID(id)
		var result []byte
		err := s.runWrite(ctx, op, id != "", func() (maybe bool, err error) {
			result, maybe, err = s.batchedUpdate(ctx, op, key, id, nowArg, f)
			return maybe, err
		})
		if a, ok := asApplied(err); ok {
			return a.result, nil
		}
		if !errors.Is(err, errFallback) {
			return result, err
		}
	}
	if s.eng.Pipeline == nil || s.noPipeline {
		return s.inTx(ctx, op, id, func(q querier) ([]byte, error) {
			rec, raw, ok, err := scanRecord(q.QueryRowContext(ctx, s.q.lockRow, key, nowArg))
			if err != nil {
				return nil, s.dbErr(ctx, op, err)
			}
			w, err := f(rec, raw, ok)
			if err != nil || w.query == "" {
				return nil, err
			}
			if _, err := q.ExecContext(ctx, w.query, w.args...); err != nil {
				return nil, s.dbErr(ctx, op, err)
			}
			return w.result, nil
		})
	}
	id = s.opID(id)
	var result []byte
	err := s.runWrite(ctx, op, id != "", func() (maybe bool, err error) {
		result, maybe, err = s.pipelinedUpdate(ctx, op, key, id, nowArg, f)
		return maybe, err
	})
	if a, ok := asApplied(err); ok {
		return a.result, nil
	}
	return result, err
}

// pipelinedUpdate is one try of lockedUpdate on an engine that pipelines;
// maybe reports that it failed in a way that leaves its outcome unknown.
func (s *Store) pipelinedUpdate(ctx context.Context, op, key, id string, nowArg any, f lockedFunc) (result []byte, maybe bool, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, false, s.dbErr(ctx, op, err)
	}
	defer conn.Close()
	rawErr := conn.Raw(func(dc any) error {
		pc, ok := s.eng.Pipeline(dc)
		if !ok {
			err = fmt.Errorf("sqlstore: %s: a %v store needs a *sql.DB of its engine's driver, got a connection of %T", op, s.dialect, dc)
			return nil
		}
		result, maybe, err = s.pipeline(ctx, op, pc, key, id, nowArg, f)
		if pc.Closed() {
			return driver.ErrBadConn
		}
		if !pc.InTx() {
			return nil
		}
		// A failure left the transaction open: roll it back even when ctx
		// is done, or have database/sql discard the connection.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, rerr := pc.Exec(rctx, "rollback"); rerr != nil || pc.InTx() {
			return driver.ErrBadConn
		}
		return nil
	})
	if err == nil && rawErr != nil && !errors.Is(rawErr, driver.ErrBadConn) {
		// Only when nothing was sent: pipeline reports its own errors,
		// and an error after an acknowledged COMMIT is no failure.
		err = s.dbErr(ctx, op, rawErr)
	}
	if errors.Is(err, errDuplicateOp) {
		// The ops row is there: an earlier try committed.
		if aerr := s.applied(ctx, op, id); aerr != nil {
			return nil, false, aerr
		}
		return nil, false, appliedError{}
	}
	return result, maybe, err
}

// pipeline runs the transaction of pipelinedUpdate on pc.
func (s *Store) pipeline(ctx context.Context, op string, pc engine.Conn, key, id string, nowArg any, f lockedFunc) (result []byte, maybe bool, err error) {
	var rec store.Record
	var raw rawValues
	found := true
	br := pc.SendBatch(ctx, []engine.Stmt{{Query: "begin"}, {Query: s.q.lockRow, Args: []any{key, nowArg}}})
	_, err = br.Exec()
	if err == nil {
		err = br.QueryRow(raw.dest(&rec)...)
		if errors.Is(err, sql.ErrNoRows) {
			found, err = false, nil
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// No COMMIT was sent: nothing took effect.
		return nil, false, s.dbErr(ctx, op, err)
	}
	w, err := f(rec, raw, found)
	if err != nil || w.query == "" {
		if _, rerr := pc.Exec(ctx, "rollback"); rerr != nil && err == nil {
			err = s.dbErr(ctx, op, rerr)
		}
		if isLogical(err) && id != "" {
			// Maybe the repeat of a change that was applied (see sqlTx).
			var r []byte
			ferr := pc.QueryRow(ctx, s.oq.find, []any{opKey(id)}, &r)
			switch {
			case ferr == nil:
				err = appliedError{r}
			case !errors.Is(ferr, sql.ErrNoRows):
				err = s.dbErr(ctx, op, ferr)
			}
		}
		return nil, false, err
	}
	stmts := make([]engine.Stmt, 0, 3)
	stmts = append(stmts, engine.Stmt{Query: w.query, Args: w.args})
	if id != "" {
		stmts = append(stmts, engine.Stmt{Query: s.oq.insert, Args: []any{opKey(id), nowArg, nullBytes(w.result)}})
	}
	stmts = append(stmts, engine.Stmt{Query: "commit"})
	br = pc.SendBatch(ctx, stmts)
	defer br.Close()
	// The statements were sent with COMMIT behind them: an error without
	// an answer of the server leaves the outcome unknown. The server skips
	// what follows a statement it refused, COMMIT included.
	for range len(stmts) - 1 {
		if _, err := br.Exec(); err != nil {
			if s.isDuplicate(err) {
				return nil, false, errDuplicateOp
			}
			return nil, s.maybeApplied(ctx, err), s.dbErr(ctx, op, err)
		}
	}
	tag, err := br.Exec()
	if err != nil {
		return nil, s.maybeApplied(ctx, err), s.dbErr(ctx, op, err)
	}
	if tag != "COMMIT" {
		// COMMIT of a transaction the server had aborted.
		return nil, false, fmt.Errorf("sqlstore: %s: %w: transaction rolled back (%s)", op, store.ErrUnavailable, tag)
	}
	// COMMIT was acknowledged: whatever happens to the connection now,
	// the change took effect.
	return w.result, false, nil
}

// batchedUpdate is one try of lockedUpdate on MySQL, in two round trips
// on one connection: START TRANSACTION and the locking SELECT as one batch
// of statements, then the UPDATE, the INSERT into the ops table and COMMIT
// as another (see engine.Engine.Batch). maybe reports that it failed in a
// way that leaves its outcome unknown. When the pool's connections cannot
// run batches it returns errFallback, having changed nothing.
func (s *Store) batchedUpdate(ctx context.Context, op, key, id string, nowArg any, f lockedFunc) (result []byte, maybe bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, false, s.dbErr(ctx, op, err)
	}
	defer conn.Close()
	inTx := false
	defer func() {
		if !inTx {
			return
		}
		// Roll back even when ctx is done, or have database/sql discard
		// the connection.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, rerr := conn.ExecContext(rctx, "ROLLBACK"); rerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	var rec store.Record
	var raw rawValues
	found := true
	// The transaction is open from here on, whether the SELECT succeeds or
	// not (and database/sql does not know it: the connection is ours
	// until the deferred ROLLBACK).
	inTx = true
	err = conn.QueryRowContext(ctx, `START TRANSACTION; `+s.q.lockRow, key, nowArg).Scan(raw.dest(&rec)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		found, err = false, nil
	case s.noBatchErr(err):
		s.noBatch.Store(true)
		return nil, false, errFallback
	case err != nil:
		// No COMMIT was sent: nothing took effect.
		return nil, false, s.dbErr(ctx, op, err)
	}
	w, err := f(rec, raw, found)
	if err != nil || w.query == "" {
		if isLogical(err) && id != "" {
			// Maybe the repeat of a change that was applied (see sqlTx).
			if r, ok, ferr := s.findOp(ctx, conn, id); ferr != nil {
				err = s.dbErr(ctx, op, ferr)
			} else if ok {
				err = appliedError{r}
			}
		}
		return nil, false, err
	}
	q := w.query
	args := w.args
	if id != "" {
		q += `; ` + s.oq.insert
		args = append(args[:len(args):len(args)], opKey(id), nowArg, nullBytes(w.result))
	}
	_, err = s.connBatch(ctx, conn, q+`; COMMIT`, args)
	switch {
	case err == nil:
		inTx = false
		s.batched.Add(1)
		// COMMIT was acknowledged: whatever happens to the connection now,
		// the change took effect.
		return w.result, false, nil
	case errors.Is(err, errFallback):
		return nil, false, fmt.Errorf("sqlstore: %s: %w: the connection refused a batch after running one", op, store.ErrUnavailable)
	case s.isDuplicate(err):
		// The ops row is there: an earlier try committed. (Batch rolled
		// back.)
		inTx = false
		if aerr := s.applied(ctx, op, id); aerr != nil {
			return nil, false, aerr
		}
		return nil, false, appliedError{}
	}
	// Batch rolled back what it could; a broken connection is discarded.
	inTx = false
	return nil, s.maybeApplied(ctx, err), s.dbErr(ctx, op, err)
}

// noBatchErr reports whether err says that a multi-statement query was
// refused as a whole (the connection does not interpolate arguments, or
// was opened without multiStatements): nothing ran.
func (s *Store) noBatchErr(err error) bool {
	return err != nil && s.eng.NoBatch != nil && s.eng.NoBatch(err)
}
