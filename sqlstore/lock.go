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
// free and is taken over. A lock held under another token is not taken
// before it expires; one held under the same token is taken again, with a
// new expiry, and TryLock reports true: a TryLock repeated after its reply
// was lost does not lock out its own caller, and TryLock can safely be
// retried until it gets an answer. The token must be 1 to 255 bytes and ttl
// positive. See [store.Locker].
//
// On PostgreSQL and SQLite it is one INSERT ... ON CONFLICT DO UPDATE ...
// WHERE expired or ours; on MySQL an INSERT, and only on a duplicate key a
// DELETE of the row if it expired or is ours and a second INSERT.
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
	err := s.runWrite(ctx, "lock", true, func() (bool, error) {
		var err error
		ok, err = s.tryLock(ctx, args, now)
		if err != nil {
			return s.maybeApplied(ctx, err), s.dbErr(ctx, "lock", err)
		}
		return false, nil
	})
	if err != nil && s.isRetryable(err) && ctx.Err() == nil && !errors.Is(err, store.ErrOutcomeUnknown) {
		// Still a deadlock victim after the retries: other sessions are
		// fighting over this lock row right now, so it is not ours.
		return false, nil
	}
	return ok, err
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

// tryLock is one try of TryLock; args are the key, the token and the
// expiry. Errors are unclassified.
func (s *Store) tryLock(ctx context.Context, args []any, now time.Time) (bool, error) {
	nowArg := s.dialect.timeArg(now)
	if s.dialect != MySQL {
		res, err := s.db.ExecContext(ctx, s.q.lock, append(args, nowArg)...)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n > 0, err
	}
	_, err := s.db.ExecContext(ctx, s.q.lockInsert, args...)
	if !s.isDuplicate(err) {
		return err == nil, err
	}
	res, err := s.db.ExecContext(ctx, s.q.lockDeleteExpired, args[0], nowArg, args[1])
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	_, err = s.db.ExecContext(ctx, s.q.lockInsert, args...)
	if s.isDuplicate(err) {
		return false, nil
	}
	return err == nil, err
}
