package redisstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/store"
)

// DefaultPrefix starts every key of a [Store] whose [Options.Prefix] is empty.
const DefaultPrefix = "sesame:"

// Options configures a [Store]. The zero value is ready to use.
type Options struct {
	// Prefix starts every Redis key the store writes, so several apps (or
	// several stores of one app) can share a database. Empty means
	// [DefaultPrefix]. In a Cluster, a prefix with a hash tag ("{sesame}:")
	// would put every session in one slot: leave hash tags out.
	Prefix string

	// CompressThreshold is the length above which a value is stored
	// gzip-compressed (when that makes it smaller). Zero means
	// [store.DefaultCompressThreshold] (1 KiB); a negative value never
	// compresses.
	CompressThreshold int

	// MaxRecordSize is the largest record the store accepts, measured as
	// [store.Size] of its values before compression. A change that would
	// make a record larger fails with [store.ErrTooLarge] and the stored
	// record is kept. Zero means [store.DefaultMaxRecordSize] (1 MiB);
	// negative values are an error.
	MaxRecordSize int

	// AutoPipeline sends Load's HGETALL and Apply's script through the
	// client's auto-pipeliner ([redis.Client.AutoPipeline], EXPERIMENTAL in
	// go-redis), which batches the commands of concurrent requests into one
	// write and one read on one connection. Under concurrency that cuts the
	// Redis server's CPU per request several times over (its system calls,
	// not the commands) and raises throughput; a lone request costs the
	// same round trip. Everything else (indexes, lists, locks, takes,
	// tokens) stays on the client.
	//
	// A command's context is honored until it is queued; after that the
	// caller waits for its batch, which the client's read and write
	// timeouts bound. A batch cut by a network error fails all its commands
	// and go-redis resends it; the change markers make that harmless, as
	// for any resend. New fails when the client has no auto-pipeliner
	// (a [redis.Ring]).
	AutoPipeline bool
}

// Store is a [store.Store] on Redis: a single node, Sentinel or a Cluster,
// through any [redis.UniversalClient]. It also implements [store.Pruner],
// [store.Lister], [store.UserIndex], [store.Renamer], [store.Locker] and [store.Taker].
//
// A Store is safe for concurrent use by many goroutines and by many
// processes sharing the same Redis.
type Store struct {
	client redis.UniversalClient
	// hot runs Load's and Apply's commands: the client, or its
	// auto-pipeliner (Options.AutoPipeline).
	hot       redis.UniversalClient
	prefix    string
	threshold int
	maxSize   int
	// boxedMaxSize is maxSize as an argument of applyScript, boxed once.
	boxedMaxSize any
	// updateScript is the lean script of plain updates, for maxSize.
	updateScript *redis.Script

	// atomicRename is true when every key lives on one server, so a rename
	// can run as one script over both keys.
	atomicRename bool

	// owned is true when Open made the client, so Close closes it.
	owned bool

	// taggedPrefix is true when the prefix has a hash tag of its own, which
	// then puts marker keys in their records' slot (see markerKey).
	taggedPrefix bool

	// now is the clock; tests replace it.
	now func() time.Time

	// generalOnly makes Apply run applyScript for every change, never
	// updateScript (tests compare the two).
	generalOnly bool
}

// Compile-time checks that Store implements the store contract.
var (
	_ store.Store      = (*Store)(nil)
	_ store.Pruner     = (*Store)(nil)
	_ store.Lister     = (*Store)(nil)
	_ store.UserIndex  = (*Store)(nil)
	_ store.Renamer    = (*Store)(nil)
	_ store.Locker     = (*Store)(nil)
	_ store.Taker      = (*Store)(nil)
	_ store.TokenStore = (*Store)(nil)
)

// New returns a Store that keeps its records in Redis through client, which
// may be a *redis.Client (single node or Sentinel failover) or a
// *redis.ClusterClient. The client stays the caller's: [Store.Close] leaves it
// open. New does no I/O.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	s := &Store{
		client:    client,
		hot:       client,
		prefix:    opts.Prefix,
		threshold: opts.CompressThreshold,
		maxSize:   opts.MaxRecordSize,
		now:       time.Now,
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.threshold == 0 {
		s.threshold = store.DefaultCompressThreshold
	}
	switch {
	case s.maxSize == 0:
		s.maxSize = store.DefaultMaxRecordSize
	case s.maxSize < 0:
		return nil, fmt.Errorf("redisstore: negative MaxRecordSize %d", opts.MaxRecordSize)
	}
	s.boxedMaxSize = s.maxSize
	s.updateScript = newUpdateScript(s.maxSize)
	if opts.AutoPipeline {
		ap, err := client.AutoPipeline()
		if err != nil {
			return nil, fmt.Errorf("redisstore: AutoPipeline: %w", err)
		}
		s.hot = ap
	}
	_, s.atomicRename = client.(*redis.Client)
	_, s.taggedPrefix = hashTag(s.prefix)
	if err := checkPrefix(s.prefix, s.atomicRename); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the client if [Open] made it; a Store made by [New] leaves its
// client to the caller and Close does nothing.
func (s *Store) Close() error {
	if s.owned {
		return s.client.Close()
	}
	return nil
}

// Record hash fields. Values are under "v:" plus the session key; the
// metadata fields start with "_", so they can never collide with a value.
const (
	fieldCreated   = "_c"  // Unix nanoseconds
	fieldLastSeen  = "_s"  // Unix nanoseconds
	fieldExpires   = "_e"  // Unix nanoseconds
	fieldUser      = "_u"  // user ID, absent for none
	fieldIP        = "_ip" // absent when empty
	fieldUserAgent = "_ua" // absent when empty
	fieldSize      = "_n"  // store.Size of the values, before compression
	fieldHorizon   = "_x"  // how far (Unix ms) the user index covers this record
	fieldMoving    = "_m"  // set while a Cluster rename moves the record away
	fieldCreateID  = "_i"  // the change ID of an anonymous create, until the first update
	valuePrefix    = "v:"
)

func (s *Store) recordKey(key string) string  { return s.prefix + "s:" + key }
func (s *Store) userKey(userID string) string { return s.prefix + "u:" + userID }
func (s *Store) lockKey(key string) string    { return s.prefix + "l:" + key }

// Load implements [store.Store]. It is one HGETALL; a record whose expiry has
// passed by this process's clock is reported missing even if Redis still
// holds it.
func (s *Store) Load(ctx context.Context, key string) (store.Record, bool, error) {
	if !store.ValidKey(key) {
		return store.Record{}, false, fmt.Errorf("redisstore: load: %w", store.ErrMalformedKey)
	}
	if err := ctx.Err(); err != nil {
		return store.Record{}, false, fmt.Errorf("redisstore: load: %w", err)
	}
	fields, err := s.hot.HGetAll(ctx, s.recordKey(key)).Result()
	if err != nil {
		return store.Record{}, false, fail(ctx, "load", err)
	}
	rec, ok, err := s.decode(fields, true, s.now())
	if err != nil {
		return store.Record{}, false, fmt.Errorf("redisstore: load: %w", err)
	}
	return rec, ok, nil
}

// Apply implements [store.Store]. It is one script run (EVALSHA, falling back
// to EVAL) that checks, then writes, so a failed change leaves nothing
// behind; a plain update outside the lean script's easy case costs a second
// run (see "Loads and changes" in the package documentation). A change of a record that belongs to a user costs one more round
// trip to the user's index when the record's expiry moves past what the index
// covers (on login, and then at most once per idle timeout).
func (s *Store) Apply(ctx context.Context, key string, c store.Change) error {
	if !store.ValidKey(key) {
		return fmt.Errorf("redisstore: apply: %w", store.ErrMalformedKey)
	}
	if err := store.CheckChange(&c); err != nil {
		return fmt.Errorf("redisstore: apply: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: apply: %w", err)
	}
	return s.apply(ctx, "apply", []string{s.recordKey(key), s.markerKey(key, markChange, c.ID)}, key, c)
}

// Delete implements [store.Store]. The record's entry in its user's index is
// left to expire; readers of the index skip it.
func (s *Store) Delete(ctx context.Context, key string) error {
	if !store.ValidKey(key) {
		return fmt.Errorf("redisstore: delete: %w", store.ErrMalformedKey)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	if err := s.client.Del(ctx, s.recordKey(key)).Err(); err != nil {
		return fail(ctx, "delete", err)
	}
	return nil
}

// fail wraps an error of the Redis client: the context's error when ctx is
// done, otherwise store.ErrUnavailable together with the client's error.
func fail(ctx context.Context, op string, err error) error {
	if c := (classified{}); errors.As(err, &c) {
		return c.error
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("redisstore: %s: %w", op, cerr)
	}
	return fmt.Errorf("redisstore: %s: %w: %w", op, store.ErrUnavailable, err)
}

// decode turns the fields of a record hash into a Record, reporting ok ==
// false for a missing, moving or expired record (expired at now). Without
// values, Record.Values is nil.
func (s *Store) decode(fields map[string]string, values bool, now time.Time) (store.Record, bool, error) {
	if len(fields) == 0 {
		return store.Record{}, false, nil
	}
	if _, moving := fields[fieldMoving]; moving {
		return store.Record{}, false, nil
	}
	exp, err := parseNanos(fields[fieldExpires])
	if err != nil {
		return store.Record{}, false, fmt.Errorf("corrupt record: expiry: %w", err)
	}
	if !exp.After(now) {
		return store.Record{}, false, nil
	}
	rec := store.Record{
		Expires:   exp,
		UserID:    fields[fieldUser],
		IP:        fields[fieldIP],
		UserAgent: fields[fieldUserAgent],
	}
	if rec.Created, err = parseNanos(fields[fieldCreated]); err != nil {
		return store.Record{}, false, fmt.Errorf("corrupt record: created: %w", err)
	}
	if rec.LastSeen, err = parseNanos(fields[fieldLastSeen]); err != nil {
		return store.Record{}, false, fmt.Errorf("corrupt record: last seen: %w", err)
	}
	if !values {
		return rec, true, nil
	}
	rec.Values = make(map[string][]byte, len(fields))
	for f, v := range fields {
		k, ok := strings.CutPrefix(f, valuePrefix)
		if !ok {
			continue
		}
		b, err := store.Decompress([]byte(v), s.maxSize)
		if err != nil {
			return store.Record{}, false, fmt.Errorf("value of key %q: %w", k, err)
		}
		rec.Values[k] = b
	}
	return rec, true, nil
}

// compress returns the stored form of a value: compressed above the
// threshold, and always compressed when the value itself starts like a gzip
// stream, so that Load can never mistake it for a compressed one.
func (s *Store) compress(v []byte) []byte {
	if store.IsCompressed(v) {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		w.Write(v)
		w.Close()
		return buf.Bytes()
	}
	return store.Compress(v, s.threshold)
}

// The range of times that Unix nanoseconds can hold; times outside are
// clamped to it.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// nanos returns t as Unix nanoseconds, clamped to what an int64 holds.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func formatNanos(t time.Time) string { return strconv.FormatInt(nanos(t), 10) }

func parseNanos(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, n), nil
}

// ceilMillis returns d in milliseconds, rounded up.
func ceilMillis(d time.Duration) int64 {
	ms := d / time.Millisecond
	if d%time.Millisecond > 0 {
		ms++
	}
	return int64(ms)
}

// ttl returns the TTL argument of applyScript for a record expiring at exp,
// by the store's clock now: "0" when the record is already dead. A relative
// TTL, not PEXPIREAT, keeps a skew between this host's clock and the Redis
// server's from cutting sessions short or stretching them.
func ttl(exp, now time.Time) string {
	d := exp.Sub(now)
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(ceilMillis(d), 10)
}

// Take implements [store.Taker]: one script reads the value and removes it
// from the live record, so of two racing requests only one gets it. With an
// id, the script keeps what it took under a marker key for
// [store.RetryWindow] and answers a repeat with it, so Take sends the script
// again after a lost reply (see [Store.call]).
func (s *Store) Take(ctx context.Context, key, field, id string) ([]byte, bool, error) {
	if !store.ValidKey(key) {
		return nil, false, fmt.Errorf("redisstore: take: %w", store.ErrMalformedKey)
	}
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("redisstore: take: %w", err)
	}
	keys := []string{s.recordKey(key), s.markerKey(key, markTake, id)}
	var v string
	err := s.call(ctx, "take", id != "", func(ctx context.Context) error {
		var err error
		v, err = takeScript.Run(ctx, s.client, keys, formatNanos(s.now()), valuePrefix+field, id, windowMillis).Text()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fail(ctx, "take", err)
	}
	b, err := store.Decompress([]byte(v), s.maxSize)
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: take: value of key %q: %w", field, err)
	}
	return b, true, nil
}
