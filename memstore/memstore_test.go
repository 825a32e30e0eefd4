package memstore

import (
	"errors"
	"fmt"
	"runtime"
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
		s, err := NewWithOptions(Options{MaxRecords: 500})
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
		{name: "a small record cap uses fewer shards", o: Options{MaxRecords: 2000}, wantShards: 4, wantMax: store.DefaultMaxRecordSize},
		{name: "a tiny record cap uses one shard", o: Options{MaxRecords: 3}, wantShards: 1, wantMax: store.DefaultMaxRecordSize},
		{name: "a byte cap under the record size lowers the record size", o: Options{MaxBytes: 1000}, wantShards: 1, wantMax: 1000},
		{name: "a byte cap keeps room for the largest record in each shard", o: Options{MaxBytes: 8 << 20}, wantShards: 8, wantMax: store.DefaultMaxRecordSize},
		{name: "a negative record cap is an error", o: Options{MaxRecords: -1}, wantErr: true},
		{name: "a negative byte cap is an error", o: Options{MaxBytes: -1}, wantErr: true},
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
			total := 0
			for i := range s.shards {
				total += s.shards[i].maxRecords
			}
			want := tt.o.MaxRecords
			if want == 0 {
				want = DefaultMaxRecords
			}
			if total != want {
				t.Errorf("got shard caps adding up to %d, want %d", total, want)
			}
		})
	}
}

func TestEvictsTheLeastRecentlyWrittenPastTheRecordCap(t *testing.T) {
	s, c := newTestStore(t, Options{MaxRecords: 3})
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
	// Updates never evict.
	for _, i := range []int{0, 2, 3} {
		if err := s.Apply(t.Context(), keys[i], store.Change{Set: map[string][]byte{"b": []byte("2")}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Stats(); got.Evicted != 1 {
		t.Errorf("after updates: got %d evicted, want 1", got.Evicted)
	}
}

func TestEvictingAnExpiredRecordIsNotCounted(t *testing.T) {
	s, c := newTestStore(t, Options{MaxRecords: 1})
	old := storetest.NewKey()
	create(t, s, c, old, nil)
	c.advance(2 * time.Hour)
	create(t, s, c, storetest.NewKey(), nil)
	if got := s.Stats(); got.Evicted != 0 || got.Records != 1 {
		t.Errorf("got %+v, want nothing evicted and 1 record", got)
	}
}

func TestEvictsPastTheByteCap(t *testing.T) {
	s, c := newTestStore(t, Options{MaxBytes: 10_000, MaxRecordSize: 6000})
	if len(s.shards) != 1 {
		t.Fatalf("got %d shards, want 1", len(s.shards))
	}
	big := func() map[string][]byte { return map[string][]byte{"v": storetest.RandomJSON(3000)} }
	var keys []string
	for range 3 {
		k := storetest.NewKey()
		keys = append(keys, k)
		create(t, s, c, k, big())
	}
	if got := s.Stats(); got.Evicted != 0 || got.Bytes != 3*3001 {
		t.Fatalf("got %+v, want nothing evicted yet and 9003 bytes", got)
	}
	// Growing the newest record past the cap evicts the oldest, not itself.
	if err := s.Apply(t.Context(), keys[2], store.Change{Set: map[string][]byte{"w": storetest.RandomJSON(1000)}}); err != nil {
		t.Fatal(err)
	}
	if exists(t, s, keys[0]) || !exists(t, s, keys[1]) || !exists(t, s, keys[2]) {
		t.Errorf("got keys present %v %v %v, want false true true", exists(t, s, keys[0]), exists(t, s, keys[1]), exists(t, s, keys[2]))
	}
	if got := s.Stats(); got.Evicted != 1 || got.Bytes > 10_000 {
		t.Errorf("got %+v, want 1 evicted and at most 10000 bytes", got)
	}
}

func TestAFloodStaysWithinTheBounds(t *testing.T) {
	s, c := newTestStore(t, Options{MaxRecords: 1000, MaxBytes: 200_000})
	for range 5000 {
		create(t, s, c, storetest.NewKey(), map[string][]byte{"v": storetest.RandomJSON(300)})
	}
	got := s.Stats()
	if got.Records > 1000 || got.Bytes > 200_000 {
		t.Errorf("got %+v, want at most 1000 records and 200000 bytes", got)
	}
	if got.Evicted < 4000 {
		t.Errorf("got %d evicted, want at least 4000", got.Evicted)
	}
}

func TestTheUserIndexForgetsEvictedRecords(t *testing.T) {
	s, c := newTestStore(t, Options{MaxRecords: 1})
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
	if got.Records != 5 || got.Bytes != 5*2 || got.Locks != 0 {
		t.Errorf("got %+v, want 5 records of 2 bytes and no locks", got)
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
		if s.shardIndex(k) == s.shardIndex(base) && same[0] == "" {
			same = [2]string{base, k}
		} else if s.shardIndex(k) != s.shardIndex(base) && other[0] == "" {
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
			if got := s.Stats(); got.Records != 1 || got.Bytes != 2 {
				t.Errorf("got %+v, want 1 record of 2 bytes", got)
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

func TestStatsCountsBytesThroughChanges(t *testing.T) {
	s, c := newTestStore(t, Options{})
	ctx := t.Context()
	key := storetest.NewKey()
	create(t, s, c, key, map[string][]byte{"ab": []byte("123")})
	steps := []struct {
		c    store.Change
		want int64
	}{
		{store.Change{Set: map[string][]byte{"c": []byte("1")}}, 7},
		{store.Change{Delete: []string{"ab"}}, 2},
		{store.Change{Clear: true}, 0},
		{store.Change{Incr: map[string]int64{"n": 100}}, 4},
	}
	for i, step := range steps {
		if err := s.Apply(ctx, key, step.c); err != nil {
			t.Fatal(err)
		}
		if got := s.Stats().Bytes; got != step.want {
			t.Errorf("step %d: got %d bytes, want %d", i, got, step.want)
		}
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats(); got.Bytes != 0 || got.Records != 0 {
		t.Errorf("after delete: got %+v, want nothing", got)
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
