package memstore

import (
	"bytes"
	"context"
	"maps"

	"github.com/sesamego/sesame/store"
)

var _ store.Taker = (*Store)(nil)

// Local reports true, for sesame's Manager, which finds it by its name: the
// store's calls never wait on I/O, so the Manager makes them without a
// deadline, which would cost more than the call.
func (s *Store) Local() bool { return true }

// Take removes field from the live record under key and returns its value,
// following [store.Taker]: of two concurrent calls only one gets it.
func (s *Store) Take(ctx context.Context, key, field, id string) ([]byte, bool, error) {
	if err := check(ctx, "take", key); err != nil {
		return nil, false, err
	}
	sh := s.shardFor(key)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[key]
	if e == nil || !e.rec.Expires.After(now) {
		return nil, false, nil
	}
	v, ok := e.rec.Values[field]
	if !ok {
		return nil, false, nil
	}
	// Stored values maps are never modified in place (Load copies them
	// outside the lock), so replace the map.
	vals := maps.Clone(e.rec.Values)
	delete(vals, field)
	size := store.Size(vals)
	sh.bytes -= int64(e.size - size)
	e.rec.Values, e.size = vals, size
	return bytes.Clone(v), true, nil
}
