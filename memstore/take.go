package memstore

import (
	"bytes"
	"context"

	"github.com/sesamego/sesame/internal/flat"
	"github.com/sesamego/sesame/store"
)

var _ store.Taker = (*Store)(nil)

// Local reports true, for sesame's Manager, which finds it by its name: the
// store's calls never wait on I/O, so the Manager makes them without a
// deadline, which would cost more than the call.
func (s *Store) Local() bool { return true }

// Take removes field from the live record under key and returns its value,
// following [store.Taker]: of two concurrent calls only one gets it. The
// record is otherwise unchanged (its LastSeen too).
func (s *Store) Take(ctx context.Context, key, field, id string) ([]byte, bool, error) {
	k, err := check(ctx, "take", key)
	if err != nil {
		return nil, false, err
	}
	sh := s.shardFor(&k)
	now := s.now().UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cur, ok := sh.m[k]
	if !ok || !cur.LiveAt(now) {
		return nil, false, nil
	}
	v, ok := cur.Values().Get(field)
	if !ok {
		return nil, false, nil
	}
	rec, _ := flat.Without(cur, field)
	sh.put(k, cur, true, rec)
	return bytes.Clone(v), true, nil
}
