package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesamego/sesame/store"
)

// TryLock takes the lock on key for ttl under token and reports whether it
// got it. Locks are rows of the lock table (Table + "_locks"), so every
// process sharing the database sees them; a row whose expiry has passed is
// free and is taken over. A lock held under any token, the same one
// included, is not taken again before it expires (TryLock is not
// re-entrant). The token must be 1 to 255 bytes and ttl positive. See
// [store.Locker].
//
// On PostgreSQL and SQLite it is one INSERT ... ON CONFLICT DO UPDATE ...
// WHERE expired; on MySQL an INSERT, and only on a duplicate key a DELETE of
// the expired row and a second INSERT.
func (s *Store) TryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	switch {
	case !store.ValidKey(key):
		return false, fmt.Errorf("sqlstore: lock: %w", store.ErrMalformedKey)
	case token == "" || len(token) > maxToken:
		return false, fmt.Errorf("sqlstore: lock: token of %d bytes, want 1 to %d", len(token), maxToken)
	case ttl <= 0:
		return false, fmt.Errorf("sqlstore: lock: ttl %v is not positive", ttl)
	}
	now := normTime(s.now())
	if err := s.lockWrite(ctx); err != nil {
		return false, fmt.Errorf("sqlstore: lock: %w", err)
	}
	defer s.unlockWrite()
	args := []any{key, token, s.dialect.timeArg(now.Add(ttl))}
	var ok bool
	err := retry(ctx, false, func() (err error) {
		ok, err = s.insertOrReplaceExpired(ctx, s.db, s.q.lock, s.q.lockInsert, s.q.lockDeleteExpired, args, now)
		return err
	})
	if err != nil && isRetryable(err) && ctx.Err() == nil {
		// Still a deadlock victim after the retries: other sessions are
		// fighting over this lock row right now, so it is not ours.
		return false, nil
	}
	if err != nil {
		return false, s.dbErr(ctx, "lock", err)
	}
	return ok, nil
}

// Unlock releases the lock on key if token still holds it; otherwise it
// does nothing. See [store.Locker].
func (s *Store) Unlock(ctx context.Context, key, token string) error {
	if !store.ValidKey(key) {
		return fmt.Errorf("sqlstore: unlock: %w", store.ErrMalformedKey)
	}
	if token == "" {
		return errors.New("sqlstore: unlock: empty token")
	}
	_, err := s.execWrite(ctx, "unlock", s.q.unlock, key, token)
	return err
}
