package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesamego/sesame/store"
)

// TryLock implements [store.Locker] with SET key token NX PX ttl on the key
// prefix+"l:"+key, separate from the record. The ttl is rounded up to a
// millisecond; the token must not be empty and ttl must be positive.
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
	ttl = time.Duration(ceilMillis(ttl)) * time.Millisecond
	ok, err := s.client.SetNX(ctx, s.lockKey(key), token, ttl).Result()
	if err != nil {
		return false, fail(ctx, "lock", err)
	}
	return ok, nil
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
