package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesamego/sesame/store"
)

// TryLock implements [store.Locker] with a script that sets the key
// prefix+"l:"+key, separate from the record, to token with a TTL of ttl
// unless it is set, and reports true when it holds token (set now, or by an
// earlier call under the same token). The ttl is rounded up to a
// millisecond; the token must not be empty and ttl must be positive. After
// a lost reply the script is sent again until ctx ends (see [Store.call]);
// a repeat that finds its own token reports true.
func (s *Store) TryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if !store.ValidKey(key) {
		return false, fmt.Errorf("redisstore: lock: %w", store.ErrMalformedKey)
	}
	if token == "" {
		return false, errors.New("redisstore: lock: empty token")
	}
	if ttl <= 0 {
		return false, fmt.Errorf("redisstore: lock: ttl %v is not positive", ttl)
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("redisstore: lock: %w", err)
	}
	keys := []string{s.lockKey(key)}
	var got int64
	err := s.call(ctx, "lock", true, func(ctx context.Context) error {
		var err error
		got, err = lockScript.Run(ctx, s.client, keys, token, ceilMillis(ttl)).Int64()
		return err
	})
	if err != nil {
		return false, fail(ctx, "lock", err)
	}
	return got == 1, nil
}

// Unlock implements [store.Locker] with a script that deletes the lock only
// while it still holds token.
func (s *Store) Unlock(ctx context.Context, key, token string) error {
	if !store.ValidKey(key) {
		return fmt.Errorf("redisstore: unlock: %w", store.ErrMalformedKey)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: unlock: %w", err)
	}
	if err := unlockScript.Run(ctx, s.client, []string{s.lockKey(key)}, token).Err(); err != nil {
		return fail(ctx, "unlock", err)
	}
	return nil
}
