package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/sesamego/sesame/store"
)

// Prune deletes expired records, expired rows of the lock and token
// tables, and rows of the ops table older than twice [store.RetryWindow],
// in batches of Options.PruneBatchSize rows per statement, so that
// a table of millions never holds a long lock; other writes interleave
// between batches. It returns how many records it deleted (locks and
// tokens not counted) and stops early with ctx's error when ctx is done.
// See [store.Pruner].
func (s *Store) Prune(ctx context.Context) (int, error) {
	t := normTime(s.now())
	now := s.dialect.timeArg(t)
	queries := []string{s.q.prune, s.q.pruneLocks, s.tq.prune}
	if s.dedup() {
		queries = append(queries, s.oq.prune)
	}
	total := 0
	for _, q := range queries {
		arg := now
		if q == s.oq.prune {
			arg = s.dialect.timeArg(t.Add(-opRetention))
		}
		for {
			n, err := s.execWrite(ctx, "prune", q, arg)
			if q == s.q.prune {
				total += n
			}
			if err != nil {
				return total, err
			}
			if n < s.batch {
				break
			}
			if err := ctx.Err(); err != nil {
				return total, fmt.Errorf("sqlstore: prune: %w", err)
			}
		}
	}
	return total, nil
}

// StartPruner starts a goroutine that calls [Store.Prune] every interval
// (the first time one interval after the start) and logs its errors to
// Options.Logger. The returned stop function cancels a prune in progress,
// waits until the goroutine has exited, and may be called more than once.
// StartPruner panics if interval is not positive.
func (s *Store) StartPruner(interval time.Duration) (stop func()) {
	if interval <= 0 {
		panic("sqlstore: StartPruner with a non-positive interval")
	}
	return store.StartPruning(s, interval, func(n int, err error) {
		switch {
		case err != nil:
			s.log().Warn("sqlstore: background prune failed", "table", s.table, "deleted", n, "err", err)
		case n > 0:
			s.log().Debug("sqlstore: pruned expired sessions", "table", s.table, "deleted", n)
		}
	})
}
