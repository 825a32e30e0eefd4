package memstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesamego/sesame/internal/flat"
	"github.com/sesamego/sesame/store"
)

// Prune removes expired records and expired locks, one shard at a time, and
// returns how many records it removed. It holds each shard's lock while it
// scans that shard, which is bounded by the shard's share of the store's
// bounds. It stops with ctx's error when ctx is done.
func (s *Store) Prune(ctx context.Context) (int, error) {
	n := 0
	for i := range s.shards {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("memstore: prune: %w", err)
		}
		sh := &s.shards[i]
		now := s.now()
		nowNanos := now.UnixNano()
		sh.mu.Lock()
		for k, r := range sh.m {
			if !r.LiveAt(nowNanos) {
				sh.remove(k, r) // deleting while ranging is allowed
				n++
			}
		}
		for k, l := range sh.locks {
			if !l.expires.After(now) {
				delete(sh.locks, k)
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// List calls fn for every live record, following [store.Lister]. It collects
// one shard's records under the shard's lock (records are never modified, so
// that copies no values) and calls fn without holding any lock, so fn may use
// the store.
func (s *Store) List(ctx context.Context, fn func(store.Entry) error) error {
	type item struct {
		k bkey
		r flat.Record
	}
	var batch []item
	for i := range s.shards {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("memstore: list: %w", err)
		}
		sh := &s.shards[i]
		now := s.now().UnixNano()
		batch = batch[:0]
		sh.mu.RLock()
		for k, r := range sh.m {
			if r.LiveAt(now) {
				batch = append(batch, item{k, r})
			}
		}
		sh.mu.RUnlock()
		for _, it := range batch {
			if err := fn(store.Entry{Key: it.k.String(), Record: it.r.Record(false)}); err != nil {
				if errors.Is(err, store.ErrStop) {
					return nil
				}
				return err
			}
		}
	}
	return nil
}

// UserSessions returns the live records of userID without their values,
// following [store.UserIndex]. It looks the user up in each shard's index.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]store.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: user sessions: %w", err)
	}
	if userID == "" {
		return nil, nil
	}
	var out []store.Entry
	now := s.now().UnixNano()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for k := range sh.users[userID] {
			if r, ok := sh.m[k]; ok && r.LiveAt(now) {
				rec, _ := r.Meta()
				out = append(out, store.Entry{Key: k.String(), Record: rec})
			}
		}
		sh.mu.RUnlock()
	}
	return out, nil
}

// DeleteUserSessions deletes the records of userID except the one under
// except, following [store.UserIndex]. It returns how many live records it
// deleted; expired records of the user are removed too but not counted.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, except string) (int, error) {
	var keep bkey
	if except != "" {
		var ok bool
		if keep, ok = decodeKey(except); !ok {
			return 0, fmt.Errorf("memstore: delete user sessions: %w", store.ErrMalformedKey)
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memstore: delete user sessions: %w", err)
	}
	if userID == "" {
		return 0, nil
	}
	n := 0
	now := s.now().UnixNano()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k := range sh.users[userID] { // remove deletes from this map: allowed while ranging
			if except != "" && k == keep {
				continue
			}
			if r, ok := sh.m[k]; ok {
				if r.LiveAt(now) {
					n++
				}
				sh.remove(k, r)
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// Rename applies c to the record under oldKey and moves it to newKey in one
// step, following [store.Renamer]. Both shards are locked for the move. Like
// Apply, it may evict records to stay within the bounds.
func (s *Store) Rename(ctx context.Context, oldKey, newKey string, c store.Change) error {
	from, okFrom := decodeKey(oldKey)
	to, okTo := decodeKey(newKey)
	if !okFrom || !okTo {
		return fmt.Errorf("memstore: rename: %w", store.ErrMalformedKey)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: rename: %w", err)
	}
	if err := store.CheckChange(&c); err != nil {
		return fmt.Errorf("memstore: rename: %w", err)
	}
	src, dst := s.shardFor(&from), s.shardFor(&to)
	// Lock in shard order so that two renames cannot deadlock.
	first, second := src, dst
	if to[0]&s.mask < from[0]&s.mask {
		first, second = dst, src
	}
	first.mu.Lock()
	if second != first {
		second.mu.Lock()
	}
	ev, err := s.rename(src, dst, from, to, c)
	if second != first {
		second.mu.Unlock()
	}
	first.mu.Unlock()
	if err != nil {
		return fmt.Errorf("memstore: rename: %w", err)
	}
	s.report(ctx, ev)
	return nil
}

// rename is Rename with both shards locked.
func (s *Store) rename(src, dst *shard, from, to bkey, c store.Change) (eviction, error) {
	now := s.now()
	cur, ok := src.m[from]
	c.Create = false
	rec, err := s.merge(cur, ok, c, now)
	if err != nil {
		return eviction{}, err
	}
	target, taken := dst.m[to]
	if taken && target.LiveAt(now.UnixNano()) {
		return eviction{}, store.ErrExists
	}
	src.remove(from, cur)
	if taken {
		dst.remove(to, target)
	}
	dst.put(to, nil, false, rec)
	return s.evict(dst, to, now), nil
}

// TryLock takes the lock on key for ttl, following [store.Locker]. The lock
// is held in this process's memory. A TryLock with the token that holds the
// lock reports true and extends it (a retry, not a second holder). A ttl
// that is not positive is an error.
func (s *Store) TryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	k, err := check(ctx, "lock", key)
	if err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, errors.New("memstore: lock: ttl must be positive")
	}
	sh := s.shardFor(&k)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if l, ok := sh.locks[k]; ok && l.expires.After(now) && l.token != token {
		return false, nil
	}
	sh.locks[k] = lock{token: token, expires: now.Add(ttl)}
	return true, nil
}

// Unlock releases the lock on key if token holds it, following
// [store.Locker].
func (s *Store) Unlock(ctx context.Context, key, token string) error {
	k, err := check(ctx, "unlock", key)
	if err != nil {
		return err
	}
	sh := s.shardFor(&k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if l, ok := sh.locks[k]; ok && l.token == token {
		delete(sh.locks, k)
	}
	return nil
}
