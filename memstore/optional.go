package memstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesamego/sesame/store"
)

// Prune removes expired records and expired locks, one shard at a time, and
// returns how many records it removed. It holds each shard's lock while it
// scans that shard, which is bounded by the shard's share of
// [Options.MaxRecords]. It stops with ctx's error when ctx is done.
func (s *Store) Prune(ctx context.Context) (int, error) {
	n := 0
	for i := range s.shards {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("memstore: prune: %w", err)
		}
		sh := &s.shards[i]
		now := s.now()
		sh.mu.Lock()
		for _, e := range sh.m {
			if !e.rec.Expires.After(now) {
				sh.remove(e)
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

// List calls fn for every live record, following [store.Lister]. It copies
// one shard's entries under the shard's lock and calls fn without holding
// any lock, so fn may use the store.
func (s *Store) List(ctx context.Context, fn func(store.Entry) error) error {
	var batch []store.Entry
	for i := range s.shards {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("memstore: list: %w", err)
		}
		sh := &s.shards[i]
		now := s.now()
		batch = batch[:0]
		sh.mu.RLock()
		for k, e := range sh.m {
			if e.rec.Expires.After(now) {
				batch = append(batch, store.Entry{Key: k, Record: e.rec})
			}
		}
		sh.mu.RUnlock()
		for _, e := range batch {
			e.Record.Values = cloneValues(e.Record.Values)
			if err := fn(e); err != nil {
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
	now := s.now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for k := range sh.users[userID] {
			if e := sh.m[k]; e != nil && e.rec.Expires.After(now) {
				rec := e.rec
				rec.Values = nil
				out = append(out, store.Entry{Key: k, Record: rec})
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
	if except != "" && !store.ValidKey(except) {
		return 0, fmt.Errorf("memstore: delete user sessions: %w", store.ErrMalformedKey)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memstore: delete user sessions: %w", err)
	}
	if userID == "" {
		return 0, nil
	}
	n := 0
	now := s.now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k := range sh.users[userID] { // remove deletes from this map: allowed while ranging
			if k == except {
				continue
			}
			if e := sh.m[k]; e != nil {
				if e.rec.Expires.After(now) {
					n++
				}
				sh.remove(e)
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// Rename applies c to the record under oldKey and moves it to newKey in one
// step, following [store.Renamer]. Both shards are locked for the move.
func (s *Store) Rename(ctx context.Context, oldKey, newKey string, c store.Change) error {
	if err := check(ctx, "rename", oldKey, newKey); err != nil {
		return err
	}
	if err := store.CheckChange(&c); err != nil {
		return fmt.Errorf("memstore: rename: %w", err)
	}
	from, to := s.shardFor(oldKey), s.shardFor(newKey)
	// Lock in shard order so that two renames cannot deadlock.
	first, second := from, to
	if s.shardIndex(newKey) < s.shardIndex(oldKey) {
		first, second = to, from
	}
	first.mu.Lock()
	defer first.mu.Unlock()
	if second != first {
		second.mu.Lock()
		defer second.mu.Unlock()
	}
	now := s.now()
	e := from.m[oldKey]
	var cur store.Record
	if e != nil {
		cur = e.rec
	}
	c.Create = false
	rec, size, err := s.merge(cur, e != nil, c, now)
	if err != nil {
		return fmt.Errorf("memstore: rename: %w", err)
	}
	target := to.m[newKey]
	if target != nil && target.rec.Expires.After(now) {
		return fmt.Errorf("memstore: rename: %w", store.ErrExists)
	}
	from.remove(e)
	if target != nil {
		to.remove(target)
	}
	s.put(to, nil, newKey, rec, size, now)
	return nil
}

// TryLock takes the lock on key for ttl, following [store.Locker]. The lock
// is held in this process's memory. A TryLock with the token that holds the
// lock reports true and extends it (a retry, not a second holder). A ttl
// that is not positive is an error.
func (s *Store) TryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := check(ctx, "lock", key); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, errors.New("memstore: lock: ttl must be positive")
	}
	sh := s.shardFor(key)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if l, ok := sh.locks[key]; ok && l.expires.After(now) && l.token != token {
		return false, nil
	}
	sh.locks[key] = lock{token: token, expires: now.Add(ttl)}
	return true, nil
}

// Unlock releases the lock on key if token holds it, following
// [store.Locker].
func (s *Store) Unlock(ctx context.Context, key, token string) error {
	if err := check(ctx, "unlock", key); err != nil {
		return err
	}
	sh := s.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if l, ok := sh.locks[key]; ok && l.token == token {
		delete(sh.locks, key)
	}
	return nil
}
