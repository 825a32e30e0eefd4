package memstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesamego/sesame/internal/flat"
	"github.com/sesamego/sesame/store"
)

// DefaultMaxMemory is the memory the records of a store with the zero
// [Options] may take: 256 MiB, which hold about 1.8 million sessions of three
// small values, or 180,000 sessions of 1.3 KiB.
const DefaultMaxMemory = 256 << 20

// EntryOverhead is what [Options.MaxMemory] counts for each record besides
// its encoded size: its place in the store's map (a 32-byte key and a slice
// header, at the map's usual load) and the rounding of its allocation.
const EntryOverhead = 88

// userOverhead is what MaxMemory counts for a record's place in the user
// index, for records with a user.
const userOverhead = 48

// maxShards is the number of shards of a store with the default bounds.
const maxShards = 64

// minShardRecords is the fewest records a shard is sized for: below it, a
// store uses fewer shards, so that eviction stays close to the global order.
const minShardRecords = 256

// warnInterval is the shortest time between two warnings that the store is
// full.
const warnInterval = time.Minute

// Options configures a [Store]. The zero value gives the defaults.
type Options struct {
	// MaxMemory bounds the memory the records take, in bytes. A record
	// counts its encoded size (its keys and values, user ID, IP and user
	// agent, plus about 30 bytes of times and lengths) and EntryOverhead;
	// one with a user counts 48 bytes more for the user index. Zero means
	// DefaultMaxMemory (256 MiB): about 1.8 million sessions of three small
	// values (about 150 bytes each), or 180,000 sessions of 1.3 KiB. The Go heap
	// holds about this much for the store; the garbage collector's headroom
	// (GOGC) comes on top. A MaxMemory smaller than MaxRecordSize lowers
	// MaxRecordSize to it.
	MaxMemory int64

	// MaxSessions bounds the number of records: sessions, and the
	// tombstones and expired records the store holds until they are pruned.
	// Zero means no bound besides MaxMemory.
	MaxSessions int

	// MaxRecordSize is the largest record, as measured by [store.Size] (the
	// lengths of its keys and values), that Apply accepts. Zero means
	// [store.DefaultMaxRecordSize].
	MaxRecordSize int

	// Logger receives the warning that the store is full and evicts
	// sessions: at the first eviction, then at most once a minute, with
	// the number evicted since the previous warning ("evicted"), the bound
	// that forced it ("bound": "MaxMemory" or "MaxSessions") and how long
	// ago the last session evicted had been written ("last_written_ago";
	// minutes mean the bound is far too low). Nil means slog.Default() at
	// the time of logging. sesame's Manager gives the store it creates its
	// own Logger.
	Logger *slog.Logger

	// Now is the store's clock, which decides what has expired. Nil means
	// time.Now. Tests that move time set it.
	Now func() time.Time
}

// Stats describes a store's contents.
type Stats struct {
	// Records is the number of records held, expired ones included until
	// they are pruned.
	Records int

	// Memory is the memory the records take, in bytes, as counted against
	// [Options.MaxMemory].
	Memory int64

	// Evicted counts the sessions (live records other than tombstones)
	// evicted to stay within the bounds since the store was created.
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
	maxMemory     int64
	maxSessions   int
	logger        *slog.Logger
	now           func() time.Time

	evicted  atomic.Uint64
	unwarned atomic.Uint64 // evicted since the last warning
	lastWarn atomic.Int64  // Unix nanoseconds of the last warning, 0 for none

	hooksMu sync.Mutex
	hooks   atomic.Pointer[[]func(context.Context, int)]
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Pruner    = (*Store)(nil)
	_ store.Lister    = (*Store)(nil)
	_ store.UserIndex = (*Store)(nil)
	_ store.Renamer   = (*Store)(nil)
	_ store.Locker    = (*Store)(nil)
	_ flat.Loader     = (*Store)(nil)
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
	if o.MaxMemory < 0 || o.MaxSessions < 0 || o.MaxRecordSize < 0 {
		return nil, errors.New("memstore: negative bound in Options")
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	if o.MaxRecordSize == 0 {
		o.MaxRecordSize = store.DefaultMaxRecordSize
	}
	if int64(o.MaxRecordSize) > o.MaxMemory {
		o.MaxRecordSize = int(o.MaxMemory)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// Use fewer shards for small bounds, so that each shard can hold a
	// fair number of records and the largest record.
	n := maxShards
	for n > 1 && ((o.MaxSessions > 0 && o.MaxSessions/n < minShardRecords) || o.MaxMemory/int64(n) < int64(o.MaxRecordSize)) {
		n /= 2
	}
	s := &Store{
		shards:        make([]shard, n),
		mask:          uint8(n - 1),
		maxRecordSize: o.MaxRecordSize,
		maxMemory:     o.MaxMemory,
		maxSessions:   o.MaxSessions,
		logger:        o.Logger,
		now:           o.Now,
	}
	for i := range s.shards {
		// Spread the bounds exactly: the first shards take the remainder.
		records := o.MaxSessions / n
		if i < o.MaxSessions%n {
			records++
		}
		memory := o.MaxMemory / int64(n)
		if int64(i) < o.MaxMemory%int64(n) {
			memory++
		}
		s.shards[i].init(records, memory)
	}
	return s, nil
}

// A bkey is a store key decoded from hex: the map key of a record.
type bkey [32]byte

// decodeKey decodes a key of [store.Key]'s form and reports whether it has
// that form: 64 lower-case hex digits. It works on eight digits at a time:
// for a byte c under 0x80, c >= lo exactly when c + 0x80 - lo has its top
// bit set, so each comparison runs on eight bytes at once.
func decodeKey(key string) (bkey, bool) {
	var k bkey
	if len(key) != 2*len(k) {
		return k, false
	}
	const (
		ones = 0x0101010101010101
		tops = 0x8080808080808080
	)
	var buf [2 * len(k)]byte
	copy(buf[:], key)
	for i := 0; i < len(buf); i += 8 {
		x := binary.BigEndian.Uint64(buf[i:]) // the first digit in the top byte
		digit := (x + (0x80-'0')*ones) &^ (x + (0x80-'9'-1)*ones)
		letter := (x + (0x80-'a')*ones) &^ (x + (0x80-'f'-1)*ones)
		if x&tops != 0 || (digit|letter)&tops != tops {
			return k, false
		}
		// The nibbles: the low four bits, plus 9 for a letter ('a' is
		// 0x61); then pairs of nibbles packed into bytes, and the bytes
		// together.
		v := x&(0x0f*ones) + (letter&tops>>7)*9
		v = (v&0x0f000f000f000f00)>>4 | v&0x000f000f000f000f
		v = (v | v>>8) & 0x0000ffff0000ffff
		v = (v | v>>16) & 0x00000000ffffffff
		binary.BigEndian.PutUint32(k[i/2:], uint32(v))
	}
	return k, true
}

// String returns the key in [store.Key]'s form.
func (k *bkey) String() string {
	const digits = "0123456789abcdef"
	var b [64]byte
	for i, c := range k {
		b[2*i], b[2*i+1] = digits[c>>4], digits[c&0xf]
	}
	return string(b[:])
}

// shardFor returns the shard of k.
func (s *Store) shardFor(k *bkey) *shard { return &s.shards[k[0]&s.mask] }

// check validates key and ctx before any work and returns the decoded key.
func check(ctx context.Context, op, key string) (bkey, error) {
	k, ok := decodeKey(key)
	if !ok {
		return k, fmt.Errorf("memstore: %s: %w", op, store.ErrMalformedKey)
	}
	if err := ctx.Err(); err != nil {
		return k, fmt.Errorf("memstore: %s: %w", op, err)
	}
	return k, nil
}

// Load returns the live record under key, following [store.Store.Load]. The
// record's values are a copy.
func (s *Store) Load(ctx context.Context, key string) (store.Record, bool, error) {
	r, ok, err := s.load(ctx, key)
	if !ok {
		return store.Record{}, false, err
	}
	return r.Record(false), true, nil
}

// LoadShared is Load without the copy of the values, for sesame's Manager,
// which finds it by its name: the caller must not modify the values. sesame's
// sessions copy them on their first change. A wrapper around the store that
// overrides Load must override LoadShared too (or not have it), or the
// Manager goes around it.
func (s *Store) LoadShared(ctx context.Context, key string) (store.Record, bool, error) {
	r, ok, err := s.load(ctx, key)
	if !ok {
		return store.Record{}, false, err
	}
	return r.Record(true), true, nil
}

// LoadFlat is Load returning the record in the encoding the store keeps it
// in, without copying or decoding it. It is for sesame's Manager, which
// reads values straight from it; the encoding is internal to sesame and may
// change in any release, and the bytes must not be modified. Use Load.
func (s *Store) LoadFlat(ctx context.Context, key string) ([]byte, bool, error) {
	r, ok, err := s.load(ctx, key)
	return r, ok, err
}

// FlatLoader returns s: the store whose LoadFlat this is. A type that embeds
// a *Store gets both methods promoted, and sesame then sees that its
// LoadFlat is not the type's own and loads through the type's Load, which
// the type may have overridden.
func (s *Store) FlatLoader() any { return s }

func (s *Store) load(ctx context.Context, key string) (flat.Record, bool, error) {
	k, err := check(ctx, "load", key)
	if err != nil {
		return nil, false, err
	}
	sh := s.shardFor(&k)
	now := s.now().UnixNano()
	sh.mu.RLock()
	r, ok := sh.m[k]
	sh.mu.RUnlock()
	// Records are never modified once stored (changes replace them), so
	// r can be read, or shared, outside the lock.
	if !ok || !r.LiveAt(now) {
		return nil, false, nil
	}
	return r, true, nil
}

// Apply applies c to the record under key, following [store.Store.Apply]. A
// change that takes the store past a bound evicts records; see the package
// documentation.
func (s *Store) Apply(ctx context.Context, key string, c store.Change) error {
	k, err := check(ctx, "apply", key)
	if err != nil {
		return err
	}
	if err := store.CheckChange(&c); err != nil {
		return fmt.Errorf("memstore: apply: %w", err)
	}
	sh := s.shardFor(&k)
	now := s.now()
	sh.mu.Lock()
	cur, ok := sh.m[k]
	rec, err := s.merge(cur, ok, c, now)
	if err != nil {
		sh.mu.Unlock()
		return fmt.Errorf("memstore: apply: %w", err)
	}
	sh.put(k, cur, ok, rec)
	ev := s.evict(sh, k, now)
	sh.mu.Unlock()
	s.report(ctx, ev)
	return nil
}

// merge is flat.Merge plus the size limit.
func (s *Store) merge(cur flat.Record, ok bool, c store.Change, now time.Time) (flat.Record, error) {
	rec, size, err := flat.Merge(cur, ok, c, now)
	if err != nil {
		return nil, err
	}
	if size > s.maxRecordSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", store.ErrTooLarge, size, s.maxRecordSize)
	}
	return rec, nil
}

// Delete removes the record under key, following [store.Store.Delete].
func (s *Store) Delete(ctx context.Context, key string) error {
	k, err := check(ctx, "delete", key)
	if err != nil {
		return err
	}
	sh := s.shardFor(&k)
	sh.mu.Lock()
	if r, ok := sh.m[k]; ok {
		sh.remove(k, r)
	}
	sh.mu.Unlock()
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
		st.Memory += sh.memory
		st.Locks += len(sh.locks)
		sh.mu.RUnlock()
	}
	return st
}
