package memstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return New() })
}

func TestConformanceWithOneShard(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := NewWithOptions(Options{MaxSessions: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.shards) != 1 {
			t.Fatalf("got %d shards, want 1", len(s.shards))
		}
		return s
	})
}

func TestConformanceWithASmallSizeLimit(t *testing.T) {
	storetest.RunWith(t, func(t *testing.T) store.Store {
		s, err := NewWithOptions(Options{MaxRecordSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.Options{MaxRecordSize: 64 << 10})
}

func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, func(*testing.B) store.Store { return New() })
}

// clock is a settable clock for in-package tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestStore(t *testing.T, o Options) (*Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	o.Now = c.now
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler) // eviction warnings
	}
	s, err := NewWithOptions(o)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func create(t *testing.T, s *Store, c *clock, key string, values map[string][]byte) {
	t.Helper()
	err := s.Apply(t.Context(), key, store.Change{Create: true, Set: values, Expires: c.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
}

func exists(t *testing.T, s *Store, key string) bool {
	t.Helper()
	_, ok, err := s.Load(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestNewWithOptions(t *testing.T) {
	tests := []struct {
		name       string
		o          Options
		wantErr    bool
		wantShards int
		wantMax    int
	}{
		{name: "the zero options give the defaults", o: Options{}, wantShards: 64, wantMax: store.DefaultMaxRecordSize},
		{name: "a small session cap uses fewer shards", o: Options{MaxSessions: 2000}, wantShards: 4, wantMax: store.DefaultMaxRecordSize},
		{name: "a tiny session cap uses one shard", o: Options{MaxSessions: 3}, wantShards: 1, wantMax: store.DefaultMaxRecordSize},
		{name: "a memory cap under the record size lowers the record size", o: Options{MaxMemory: 1000}, wantShards: 1, wantMax: 1000},
		{name: "a memory cap keeps room for the largest record in each shard", o: Options{MaxMemory: 8 << 20}, wantShards: 8, wantMax: store.DefaultMaxRecordSize},
		{name: "a negative session cap is an error", o: Options{MaxSessions: -1}, wantErr: true},
		{name: "a negative memory cap is an error", o: Options{MaxMemory: -1}, wantErr: true},
		{name: "a negative record size is an error", o: Options{MaxRecordSize: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewWithOptions(tt.o)
			if tt.wantErr {
				if err == nil {
					t.Fatal("got no error, want one")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.shards) != tt.wantShards || s.maxRecordSize != tt.wantMax {
				t.Errorf("got %d shards and a %d-byte limit, want %d and %d", len(s.shards), s.maxRecordSize, tt.wantShards, tt.wantMax)
			}
			records, memory := 0, int64(0)
			for i := range s.shards {
				records += s.shards[i].maxRecords
				memory += s.shards[i].maxMemory
			}
			wantMemory := tt.o.MaxMemory
			if wantMemory == 0 {
				wantMemory = DefaultMaxMemory
			}
			if records != tt.o.MaxSessions || memory != wantMemory {
				t.Errorf("got shard caps adding up to %d sessions and %d bytes, want %d and %d", records, memory, tt.o.MaxSessions, wantMemory)
			}
		})
	}
}

func TestEvictsTheLeastRecentlyWrittenPastTheSessionCap(t *testing.T) {
	s, c := newTestStore(t, Options{MaxSessions: 3})
	keys := make([]string, 5)
	for i := range keys {
		keys[i] = storetest.NewKey()
	}
	for _, k := range keys[:3] {
		create(t, s, c, k, map[string][]byte{"a": []byte("1")})
		c.advance(time.Second)
	}
	// Writing keys[0] makes keys[1] the least recently written; a Load of
	// keys[1] does not change that.
	if err := s.Apply(t.Context(), keys[0], store.Change{Incr: map[string]int64{"n": 1}}); err != nil {
		t.Fatal(err)
	}
	exists(t, s, keys[1])
	create(t, s, c, keys[3], nil)
	if exists(t, s, keys[1]) {
		t.Errorf("got keys[1] kept, want it evicted as the least recently written")
	}
	for _, i := range []int{0, 2, 3} {
		if !exists(t, s, keys[i]) {
			t.Errorf("got keys[%d] evicted, want it kept", i)
		}
	}
	if got := s.Stats(); got.Evicted != 1 || got.Records != 3 {
		t.Errorf("got %+v, want 1 evicted and 3 records", got)
	}
	// Updates never evict for the session cap.
	for _, i := range []int{0, 2, 3} {
		if err := s.Apply(t.Context(), keys[i], store.Change{Set: map[string][]byte{"b": []byte("2")}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Stats(); got.Evicted != 1 {
		t.Errorf("after updates: got %d evicted, want 1", got.Evicted)
	}
}

func TestEvictingExpiredRecordsAndTombstonesIsNotCounted(t *testing.T) {
	s, c := newTestStore(t, Options{MaxSessions: 1})
	var reported []int
	s.OnEvict(func(_ context.Context, n int) { reported = append(reported, n) })
	create(t, s, c, storetest.NewKey(), nil)
	c.advance(2 * time.Hour)
	create(t, s, c, storetest.NewKey(), map[string][]byte{store.GoneField: []byte("true")})
	create(t, s, c, storetest.NewKey(), nil) // evicts the live tombstone
	if got := s.Stats(); got.Evicted != 0 || got.Records != 1 {
		t.Errorf("got %+v, want nothing evicted and 1 record", got)
	}
	if len(reported) != 0 {
		t.Errorf("got OnEvict calls %v, want none", reported)
	}
}

// record is the memory a record of values without a user counts: 24 bytes
// of times, three empty strings, the count, each value's lengths, key and
// value, and EntryOverhead.
func record(values map[string][]byte) int64 {
	n := int64(24 + 3 + 1 + EntryOverhead)
	for k, v := range values {
		n += int64(2 + len(k) + len(v))
	}
	return n
}

func TestEvictsPastTheMemoryCap(t *testing.T) {
	big := func() map[string][]byte { return map[string][]byte{"v": storetest.RandomJSON(100)} }
	each := record(big())
	s, c := newTestStore(t, Options{MaxMemory: 3*each + 50, MaxRecordSize: 400})
	if len(s.shards) != 1 {
		t.Fatalf("got %d shards, want 1", len(s.shards))
	}
	var keys []string
	for range 3 {
		k := storetest.NewKey()
		keys = append(keys, k)
		create(t, s, c, k, big())
		c.advance(time.Second)
	}
	if got := s.Stats(); got.Evicted != 0 || got.Memory != 3*each {
		t.Fatalf("got %+v, want nothing evicted yet and %d bytes", got, 3*each)
	}
	// Growing the newest record past the cap evicts the oldest, not itself.
	if err := s.Apply(t.Context(), keys[2], store.Change{Set: map[string][]byte{"w": storetest.RandomJSON(100)}}); err != nil {
		t.Fatal(err)
	}
	if exists(t, s, keys[0]) || !exists(t, s, keys[1]) || !exists(t, s, keys[2]) {
		t.Errorf("got keys present %v %v %v, want false true true", exists(t, s, keys[0]), exists(t, s, keys[1]), exists(t, s, keys[2]))
	}
	if got := s.Stats(); got.Evicted != 1 || got.Memory > 3*each+50 {
		t.Errorf("got %+v, want 1 evicted and at most %d bytes", got, 3*each+50)
	}
}

func TestAFloodStaysWithinTheBounds(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"sessions and memory", Options{MaxSessions: 1000, MaxMemory: 400_000}},
		{"memory alone, the default shards", Options{MaxMemory: 64 << 20, MaxRecordSize: 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newTestStore(t, tt.o)
			flood := int(tt.o.MaxMemory/record(map[string][]byte{"v": make([]byte, 302)})) * 5 / 4
			if tt.o.MaxSessions > 0 {
				flood = 5 * tt.o.MaxSessions
			}
			for range flood {
				create(t, s, c, storetest.NewKey(), map[string][]byte{"v": storetest.RandomJSON(300)})
			}
			got := s.Stats()
			if (tt.o.MaxSessions > 0 && got.Records > tt.o.MaxSessions) || got.Memory > tt.o.MaxMemory {
				t.Errorf("got %+v, want at most %d records and %d bytes", got, tt.o.MaxSessions, tt.o.MaxMemory)
			}
			if got.Evicted == 0 || got.Records+int(got.Evicted) != flood {
				t.Errorf("got %+v after %d records, want every one kept or evicted", got, flood)
			}
		})
	}
}

func TestEvictionPicksOldRecords(t *testing.T) {
	s, c := newTestStore(t, Options{MaxSessions: 500})
	if len(s.shards) != 1 {
		t.Fatalf("got %d shards, want 1", len(s.shards))
	}
	keys := make([]string, 500)
	for i := range keys {
		keys[i] = storetest.NewKey()
		create(t, s, c, keys[i], nil)
		c.advance(time.Second)
	}
	for range 100 {
		create(t, s, c, storetest.NewKey(), nil)
	}
	// Each victim is the oldest of a random sample of 5, so the victims'
	// mean rank in the order of writes is near 1/6 of the records, far
	// below the 1/2 of a random choice.
	sum, n := 0, 0
	for i, k := range keys {
		if !exists(t, s, k) {
			sum += i
			n++
		}
	}
	if n != 100 {
		t.Fatalf("got %d of the first records evicted, want 100", n)
	}
	if mean := float64(sum) / float64(n) / float64(len(keys)); mean > 0.3 {
		t.Errorf("got the victims' mean rank at %.2f of the records, want under 0.3", mean)
	}
}

func TestEvictionsAreReportedAndWarned(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	s, c := newTestStore(t, Options{MaxSessions: 1, Logger: logger})
	type call struct {
		ctx context.Context
		n   int
	}
	var calls []call
	s.OnEvict(func(ctx context.Context, n int) { calls = append(calls, call{ctx, n}) })
	s.OnEvict(nil) // ignored
	ctx := context.WithValue(t.Context(), call{}, "the request")
	write := func() {
		t.Helper()
		if err := s.Apply(ctx, storetest.NewKey(), store.Change{Create: true, Expires: c.now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	write() // fits
	write() // evicts one: reported and warned
	if len(calls) != 1 || calls[0].n != 1 || calls[0].ctx.Value(call{}) != "the request" {
		t.Fatalf("got OnEvict calls %+v, want one of 1 with the write's context", calls)
	}
	if got := strings.Count(logs.String(), "level=WARN"); got != 1 {
		t.Fatalf("got %d warnings, want 1:\n%s", got, logs.String())
	}
	for _, want := range []string{"memstore: full", "evicted=1", "bound=MaxSessions", "max_sessions=1", "Options.MaxMemory"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("got log %q, want it to contain %q", logs.String(), want)
		}
	}
	logs.Reset()
	c.advance(30 * time.Second)
	write()
	write()
	if len(calls) != 3 || s.Stats().Evicted != 3 {
		t.Errorf("got %d OnEvict calls and %d evicted, want 3 and 3", len(calls), s.Stats().Evicted)
	}
	if logs.Len() != 0 {
		t.Errorf("got a warning within the minute: %s", logs.String())
	}
	c.advance(31 * time.Second)
	write()
	if !strings.Contains(logs.String(), "evicted=3") {
		t.Errorf("got %q a minute after the first warning, want one counting the 3 evictions since", logs.String())
	}
}

func TestTheUserIndexForgetsEvictedRecords(t *testing.T) {
	s, c := newTestStore(t, Options{MaxSessions: 1})
	first := storetest.NewKey()
	err := s.Apply(t.Context(), first, store.Change{Create: true, Expires: c.now().Add(time.Hour), SetUser: true, UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	create(t, s, c, storetest.NewKey(), nil)
	if got, _ := s.UserSessions(t.Context(), "u"); len(got) != 0 {
		t.Errorf("got %d sessions, want none", len(got))
	}
	if n := len(s.shards[0].users); n != 0 {
		t.Errorf("got %d users indexed, want none", n)
	}
}

func TestPruneUsesTheClockAndClearsIndexes(t *testing.T) {
	s, c := newTestStore(t, Options{})
	ctx := t.Context()
	var keys []string
	for i := range 10 {
		k := storetest.NewKey()
		keys = append(keys, k)
		err := s.Apply(ctx, k, store.Change{Create: true, Set: map[string][]byte{"a": []byte("1")},
			Expires: c.now().Add(time.Duration(i+1) * time.Minute), SetUser: true, UserID: "u"})
		if err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := s.TryLock(ctx, keys[0], "tok", 30*time.Second); !ok {
		t.Fatal("got no lock, want one")
	}
	c.advance(5*time.Minute + time.Second)
	n, err := s.Prune(ctx)
	if err != nil || n != 5 {
		t.Fatalf("got %d, %v, want 5, nil", n, err)
	}
	got := s.Stats()
	// Each record: "a": "1", the user "u", EntryOverhead and the index.
	if each := record(map[string][]byte{"a": []byte("1")}) + 1 + userOverhead; got.Records != 5 || got.Memory != 5*each || got.Locks != 0 {
		t.Errorf("got %+v, want 5 records of %d bytes and no locks", got, each)
	}
	sessions, _ := s.UserSessions(ctx, "u")
	if len(sessions) != 5 {
		t.Errorf("got %d sessions of u, want 5", len(sessions))
	}
	indexed := 0
	for i := range s.shards {
		indexed += len(s.shards[i].users["u"])
	}
	if indexed != 5 {
		t.Errorf("got %d keys in the user index, want 5", indexed)
	}
}

func TestThePrunerPrunesAndStops(t *testing.T) {
	s, c := newTestStore(t, Options{})
	create(t, s, c, storetest.NewKey(), nil)
	c.advance(2 * time.Hour) // the record has expired
	before := runtime.NumGoroutine()
	stop := s.StartPruner(time.Millisecond)
	// Waiting for the pruner's goroutine, not for an expiry.
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Records != 0 {
		if time.Now().After(deadline) {
			t.Fatal("got the expired record kept for 10s, want it pruned")
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	stop() // a second call is harmless
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("got %d goroutines after stop, want %d", runtime.NumGoroutine(), before)
		}
		runtime.Gosched()
	}
}

func TestStartPrunerPanicsWithoutAnInterval(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("got no panic, want one")
		}
	}()
	New().StartPruner(0)
}

func TestLockTTLUsesTheClock(t *testing.T) {
	s, c := newTestStore(t, Options{})
	ctx := t.Context()
	key := storetest.NewKey()
	if ok, err := s.TryLock(ctx, key, "a", time.Minute); !ok || err != nil {
		t.Fatalf("got %v, %v, want the lock", ok, err)
	}
	c.advance(59 * time.Second)
	if ok, _ := s.TryLock(ctx, key, "b", time.Minute); ok {
		t.Fatal("got the lock before the ttl passed, want none")
	}
	c.advance(time.Second)
	if ok, _ := s.TryLock(ctx, key, "b", time.Minute); !ok {
		t.Fatal("got no lock once the ttl passed, want it")
	}
	if _, err := s.TryLock(ctx, key, "c", 0); err == nil {
		t.Error("a zero ttl: got no error, want one")
	}
}

func TestExpiryFollowsTheStoreClock(t *testing.T) {
	s, c := newTestStore(t, Options{})
	key := storetest.NewKey()
	create(t, s, c, key, map[string][]byte{"a": []byte("1")})
	c.advance(time.Hour - time.Nanosecond)
	if !exists(t, s, key) {
		t.Fatal("got the record gone a nanosecond before it expires, want it")
	}
	c.advance(time.Nanosecond)
	if exists(t, s, key) {
		t.Fatal("got the record when it expires, want none")
	}
	if err := s.Apply(t.Context(), key, store.Change{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}

func TestRenameAcrossAndWithinShards(t *testing.T) {
	s, c := newTestStore(t, Options{})
	ctx := t.Context()
	// Find key pairs in the same shard and in different ones.
	var same, other [2]string
	base := storetest.NewKey()
	for {
		k := storetest.NewKey()
		if shardIndex(s, k) == shardIndex(s, base) && same[0] == "" {
			same = [2]string{base, k}
		} else if shardIndex(s, k) != shardIndex(s, base) && other[0] == "" {
			other = [2]string{base, k}
		}
		if same[0] != "" && other[0] != "" {
			break
		}
	}
	for name, pair := range map[string][2]string{"same shard": same, "other shard": other} {
		t.Run(name, func(t *testing.T) {
			create(t, s, c, pair[0], map[string][]byte{"a": []byte("1")})
			if err := s.Rename(ctx, pair[0], pair[1], store.Change{Incr: map[string]int64{"a": 1}}); err != nil {
				t.Fatal(err)
			}
			if exists(t, s, pair[0]) {
				t.Error("got the old key, want it gone")
			}
			rec, ok, _ := s.Load(ctx, pair[1])
			if !ok || string(rec.Values["a"]) != "2" {
				t.Errorf("got %v, %q, want the record with a=2", ok, rec.Values["a"])
			}
			if got, want := s.Stats(), record(map[string][]byte{"a": []byte("2")}); got.Records != 1 || got.Memory != want {
				t.Errorf("got %+v, want 1 record of %d bytes", got, want)
			}
			if err := s.Delete(ctx, pair[1]); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConcurrentRenamesInOppositeDirectionsDoNotDeadlock(t *testing.T) {
	s, c := newTestStore(t, Options{})
	ctx := t.Context()
	var wg sync.WaitGroup
	for range 50 {
		a, b := storetest.NewKey(), storetest.NewKey()
		create(t, s, c, a, nil)
		create(t, s, c, b, nil)
		wg.Go(func() { _ = s.Rename(ctx, a, b, store.Change{}) })
		wg.Go(func() { _ = s.Rename(ctx, b, a, store.Change{}) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("got renames still running after 30s, want them done")
	}
}

func shardIndex(s *Store, key string) int {
	k, _ := decodeKey(key)
	return int(k[0] & s.mask)
}

func TestStatsCountsMemoryThroughChanges(t *testing.T) {
	s, c := newTestStore(t, Options{})
	ctx := t.Context()
	key := storetest.NewKey()
	create(t, s, c, key, map[string][]byte{"ab": []byte("123")})
	steps := []struct {
		c    store.Change
		want map[string][]byte
		user string
	}{
		{store.Change{Set: map[string][]byte{"c": []byte("1")}}, map[string][]byte{"ab": []byte("123"), "c": []byte("1")}, ""},
		{store.Change{Delete: []string{"ab"}}, map[string][]byte{"c": []byte("1")}, ""},
		{store.Change{Clear: true}, nil, ""},
		{store.Change{Incr: map[string]int64{"n": 100}}, map[string][]byte{"n": []byte("100")}, ""},
		{store.Change{SetUser: true, UserID: "ada"}, map[string][]byte{"n": []byte("100")}, "ada"},
		{store.Change{SetUser: true}, map[string][]byte{"n": []byte("100")}, ""},
	}
	for i, step := range steps {
		if err := s.Apply(ctx, key, step.c); err != nil {
			t.Fatal(err)
		}
		want := record(step.want)
		if step.user != "" {
			want += int64(len(step.user)) + userOverhead
		}
		if got := s.Stats().Memory; got != want {
			t.Errorf("step %d: got %d bytes, want %d", i, got, want)
		}
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats(); got.Memory != 0 || got.Records != 0 {
		t.Errorf("after delete: got %+v, want nothing", got)
	}
}

func TestKeysAreCheckedForForm(t *testing.T) {
	good := storetest.NewKey()
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"a key from store.Key", good, true},
		{"upper-case hex", strings.ToUpper(good), false},
		{"one character short", good[1:], false},
		{"one character long", good + "0", false},
		{"a non-hex letter", "g" + good[1:], false},
		{"a byte above 0x7f", "\xe0" + good[1:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, ok := decodeKey(tt.key)
			if ok != tt.ok {
				t.Fatalf("got %v, want %v", ok, tt.ok)
			}
			if ok && k.String() != tt.key {
				t.Errorf("got %q back, want %q", k.String(), tt.key)
			}
		})
	}
}

func TestLoadedValuesShareOneAllocation(t *testing.T) {
	s, c := newTestStore(t, Options{})
	key := storetest.NewKey()
	values := make(map[string][]byte)
	for i := range 10 {
		values[fmt.Sprint(i)] = []byte(fmt.Sprint(i * 1000))
	}
	create(t, s, c, key, values)
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok, err := s.Load(t.Context(), key); !ok || err != nil {
			t.Fatal(ok, err)
		}
	})
	if allocs > 6 { // the map takes a few, the values one
		t.Errorf("got %.0f allocations per Load, want at most 6", allocs)
	}
}

// decodeKey agrees with encoding/hex on lower-case digits and refuses every
// other byte, in every position.
func TestDecodeKeyAgreesWithHex(t *testing.T) {
	good := storetest.NewKey()
	for pos := range 64 {
		for c := range 256 {
			key := good[:pos] + string([]byte{byte(c)}) + good[pos+1:]
			k, ok := decodeKey(key)
			want, err := hex.DecodeString(key)
			lower := (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
			if ok != (err == nil && lower) {
				t.Fatalf("byte %#x at %d: got ok %v", c, pos, ok)
			}
			if ok && !bytes.Equal(k[:], want) {
				t.Fatalf("byte %#x at %d: got %x, want %x", c, pos, k, want)
			}
		}
	}
}
