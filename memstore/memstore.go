package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sesamego/sesame/store"
)

// Defaults for the zero [Options].
const (
	// DefaultMaxRecords is the default cap on the number of records.
	DefaultMaxRecords = 100_000

	// DefaultMaxBytes is the default cap on the total size of all records'
	// values, as measured by [store.Size]: 128 MiB.
	DefaultMaxBytes = 128 << 20
)

// maxShards is the number of shards of a store with the default bounds.
const maxShards = 64

// minShardRecords is the fewest records a shard is sized for: below it, a
// store uses fewer shards, so that eviction stays close to the global order.
const minShardRecords = 256

// Options configures a [Store]. The zero value gives the defaults.
type Options struct {
	// MaxRecords caps the number of records, expired ones included until
	// they are pruned. Zero means DefaultMaxRecords.
	MaxRecords int

	// MaxBytes caps the total size of the records' values, as measured by
	// [store.Size]. Zero means DefaultMaxBytes. A MaxBytes smaller than
	// MaxRecordSize lowers MaxRecordSize to it.
	MaxBytes int64

	// MaxRecordSize is the largest record, as measured by [store.Size], that
	// Apply accepts. Zero means [store.DefaultMaxRecordSize].
	MaxRecordSize int

	// Now is the store's clock, which decides what has expired. Nil means
	// time.Now. Tests that move time set it.
	Now func() time.Time
}

// Stats describes a store's contents.
type Stats struct {
	// Records is the number of records held, expired ones included until
	// they are pruned.
	Records int

	// Bytes is the total size of their values, as measured by [store.Size].
	Bytes int64

	// Evicted counts the live records evicted to stay within the bounds
	// since the store was created.
	Evicted uint64

	// Locks is the number of session locks held, expired ones included
	// until they are pruned.
	Locks int
}

// Store is an in-memory session store. Its methods are safe for concurrent
// use.
type Store struct {
	shards        []shard
	mask          uint8
	maxRecordSize int
	now           func() time.Time
	evicted       atomic.Uint64
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Pruner    = (*Store)(nil)
	_ store.Lister    = (*Store)(nil)
	_ store.UserIndex = (*Store)(nil)
	_ store.Renamer   = (*Store)(nil)
	_ store.Locker    = (*Store)(nil)
)

// New returns a store with the default bounds. It starts no goroutine; see
// [Store.StartPruner].
func New() *Store {
	s, err := NewWithOptions(Options{})
	if err != nil {
		panic(err) // the zero Options are valid
	}
	return s
}

// NewWithOptions returns a store configured by o. It returns an error when a
// bound is negative.
func NewWithOptions(o Options) (*Store, error) {
	if o.MaxRecords < 0 || o.MaxBytes < 0 || o.MaxRecordSize < 0 {
		return nil, errors.New("memstore: negative bound in Options")
	}
	if o.MaxRecords == 0 {
		o.MaxRecords = DefaultMaxRecords
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxRecordSize == 0 {
		o.MaxRecordSize = store.DefaultMaxRecordSize
	}
	if int64(o.MaxRecordSize) > o.MaxBytes {
		o.MaxRecordSize = int(o.MaxBytes)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// Use fewer shards for small bounds, so that each shard can hold a
	// fair number of records and the largest record.
	n := maxShards
	for n > 1 && (o.MaxRecords/n < minShardRecords || o.MaxBytes/int64(n) < int64(o.MaxRecordSize)) {
		n /= 2
	}
	s := &Store{
		shards:        make([]shard, n),
		mask:          uint8(n - 1),
		maxRecordSize: o.MaxRecordSize,
		now:           o.Now,
	}
	for i := range s.shards {
		// Spread the bounds exactly: the first shards take the remainder.
		records := o.MaxRecords / n
		if i < o.MaxRecords%n {
			records++
		}
		s.shards[i].init(records, o.MaxBytes/int64(n))
	}
	return s, nil
}

// shardFor returns the shard of a valid key.
func (s *Store) shardFor(key string) *shard { return &s.shards[s.shardIndex(key)] }

// shardIndex returns the index of the shard of a valid key: the first byte
// of the hash, masked.
func (s *Store) shardIndex(key string) int { return int((unhex(key[0])<<4 | unhex(key[1])) & s.mask) }

func unhex(c byte) uint8 {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// check validates keys and ctx before any work.
func check(ctx context.Context, op string, keys ...string) error {
	for _, k := range keys {
		if !store.ValidKey(k) {
			return fmt.Errorf("memstore: %s: %w", op, store.ErrMalformedKey)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	return nil
}

// Load returns the live record under key, following [store.Store.Load]. The
// record's values are a copy.
func (s *Store) Load(ctx context.Context, key string) (store.Record, bool, error) {
	rec, ok, err := s.LoadShared(ctx, key)
	if ok {
		rec.Values = cloneValues(rec.Values)
	}
	return rec, ok, err
}

// LoadShared is Load without the copy of the values, for sesame's Manager,
// which finds it by its name: the caller must not modify the values. sesame's
// sessions copy them on their first change. A wrapper around the store that
// overrides Load must override LoadShared too (or not have it), or the
// Manager goes around it.
func (s *Store) LoadShared(ctx context.Context, key string) (store.Record, bool, error) {
	if err := check(ctx, "load", key); err != nil {
		return store.Record{}, false, err
	}
	sh := s.shardFor(key)
	now := s.now()
	sh.mu.RLock()
	e := sh.m[key]
	var rec store.Record
	if e != nil {
		rec = e.rec
	}
	sh.mu.RUnlock()
	if e == nil || !rec.Expires.After(now) {
		return store.Record{}, false, nil
	}
	// A stored values map and its slices are never modified (changes
	// replace the map), so they can be shared, or copied outside the lock.
	return rec, true, nil
}

// Apply applies c to the record under key, following [store.Store.Apply]: a
// new record may evict the least recently written records of its shard.
func (s *Store) Apply(ctx context.Context, key string, c store.Change) error {
	if err := check(ctx, "apply", key); err != nil {
		return err
	}
	if err := store.CheckChange(&c); err != nil {
		return fmt.Errorf("memstore: apply: %w", err)
	}
	sh := s.shardFor(key)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[key]
	var cur store.Record
	if e != nil {
		cur = e.rec
	}
	rec, size, err := s.merge(cur, e != nil, c, now)
	if err != nil {
		return fmt.Errorf("memstore: apply: %w", err)
	}
	s.put(sh, e, key, rec, size, now)
	return nil
}

// merge is store.Merge plus the size limit, returning a record whose values
// the store owns.
func (s *Store) merge(cur store.Record, ok bool, c store.Change, now time.Time) (store.Record, int, error) {
	rec, err := store.Merge(cur, ok, c, now)
	if err != nil {
		return store.Record{}, 0, err
	}
	size := store.Size(rec.Values)
	if size > s.maxRecordSize {
		return store.Record{}, 0, fmt.Errorf("%w: %d bytes, limit %d", store.ErrTooLarge, size, s.maxRecordSize)
	}
	// Merge shares the caller's Set slices; incremented values are new.
	for k := range c.Set {
		if _, incr := c.Incr[k]; !incr {
			if v, ok := rec.Values[k]; ok {
				rec.Values[k] = bytes.Clone(v)
			}
		}
	}
	return rec, size, nil
}

// put stores rec under key in sh, whose lock is held; e is the entry there,
// or nil.
func (s *Store) put(sh *shard, e *entry, key string, rec store.Record, size int, now time.Time) {
	if e == nil {
		for len(sh.m) >= sh.maxRecords && sh.oldest() != nil {
			s.evict(sh, sh.oldest(), now)
		}
		e = &entry{key: key}
		sh.m[key] = e
		sh.index(rec.UserID, key)
	} else {
		sh.unlink(e)
		sh.bytes -= int64(e.size)
		if e.rec.UserID != rec.UserID {
			sh.unindex(e.rec.UserID, key)
			sh.index(rec.UserID, key)
		}
	}
	e.rec, e.size = rec, size
	sh.bytes += int64(size)
	sh.pushNewest(e)
	for sh.bytes > sh.maxBytes && sh.oldest() != e {
		s.evict(sh, sh.oldest(), now)
	}
}

// evict removes e from sh to make room, counting it if it was live.
func (s *Store) evict(sh *shard, e *entry, now time.Time) {
	if e.rec.Expires.After(now) {
		s.evicted.Add(1)
	}
	sh.remove(e)
}

// Delete removes the record under key, following [store.Store.Delete].
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := check(ctx, "delete", key); err != nil {
		return err
	}
	sh := s.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := sh.m[key]; e != nil {
		sh.remove(e)
	}
	return nil
}

// Stats returns the store's counts. Each shard is read under its lock in
// turn, so the counts of a store in use are approximate.
func (s *Store) Stats() Stats {
	st := Stats{Evicted: s.evicted.Load()}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		st.Records += len(sh.m)
		st.Bytes += sh.bytes
		st.Locks += len(sh.locks)
		sh.mu.RUnlock()
	}
	return st
}

// cloneValues copies values into one new allocation.
func cloneValues(values map[string][]byte) map[string][]byte {
	n := 0
	for _, v := range values {
		n += len(v)
	}
	buf := make([]byte, n)
	out := make(map[string][]byte, len(values))
	for k, v := range values {
		c := buf[:len(v):len(v)]
		copy(c, v)
		buf = buf[len(v):]
		out[k] = c
	}
	return out
}
