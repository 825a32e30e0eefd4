package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/store"
)

// forEachBackend runs test against a single node and a Cluster.
func forEachBackend(t *testing.T, test func(t *testing.T, newStore func(t testing.TB, opts Options) *Store)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b.new) })
	}
}

// mustCreate creates a record under a fresh key and returns the key.
func mustCreate(t testing.TB, s *Store, c store.Change) string {
	t.Helper()
	key := newKey()
	c.Create = true
	if c.Expires.IsZero() {
		c.Expires = time.Now().Add(time.Hour)
	}
	if err := s.Apply(context.Background(), key, c); err != nil {
		t.Fatalf("create: %v", err)
	}
	return key
}

func mustLoad(t testing.TB, s *Store, key string) store.Record {
	t.Helper()
	rec, ok, err := s.Load(context.Background(), key)
	if err != nil || !ok {
		t.Fatalf("Load(%s) = ok %v, err %v; want the record", key, ok, err)
	}
	return rec
}

func values(kv ...string) map[string][]byte {
	m := make(map[string][]byte)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = []byte(kv[i+1])
	}
	return m
}

func equalValues(a, b map[string][]byte) bool {
	return maps.EqualFunc(a, b, bytes.Equal)
}

func TestCreateAndLoad(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()
		now := time.Now()
		exp := now.Add(time.Hour)
		key := newKey()
		c := store.Change{
			Create:  true,
			Set:     values("cart", `{"items":[1,2]}`, "name", `"Zoë 🐱"`, "", `""`, "ключ", `null`),
			Incr:    map[string]int64{"visits": 3},
			Expires: exp,
			Now:     now,
			SetUser: true, UserID: "u-1", IP: "203.0.113.9", UserAgent: "Mozilla/5.0",
		}
		if err := s.Apply(ctx, key, c); err != nil {
			t.Fatal(err)
		}
		rec := mustLoad(t, s, key)
		want := values("cart", `{"items":[1,2]}`, "name", `"Zoë 🐱"`, "", `""`, "ключ", `null`, "visits", "3")
		if !equalValues(rec.Values, want) {
			t.Errorf("values = %q, want %q", rec.Values, want)
		}
		if !rec.Created.Equal(now) || !rec.LastSeen.Equal(now) || !rec.Expires.Equal(exp) {
			t.Errorf("times = %v %v %v, want %v %v %v", rec.Created, rec.LastSeen, rec.Expires, now, now, exp)
		}
		if rec.UserID != "u-1" || rec.IP != "203.0.113.9" || rec.UserAgent != "Mozilla/5.0" {
			t.Errorf("meta = %q %q %q", rec.UserID, rec.IP, rec.UserAgent)
		}
		pttl, err := s.client.PTTL(ctx, s.recordKey(key)).Result()
		if err != nil || pttl <= 59*time.Minute || pttl > time.Hour {
			t.Errorf("PTTL = %v, %v; want about an hour", pttl, err)
		}

		err = s.Apply(ctx, key, store.Change{Create: true, Set: values("x", "1"), Expires: exp})
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("second create: err = %v, want ErrExists", err)
		}
		if rec2 := mustLoad(t, s, key); !equalValues(rec2.Values, want) {
			t.Errorf("after refused create, values = %q", rec2.Values)
		}
	})
}

func TestLoadMissing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		rec, ok, err := s.Load(context.Background(), newKey())
		if ok || err != nil || rec.Values != nil {
			t.Errorf("Load(missing) = %v, %v, %v; want zero, false, nil", rec, ok, err)
		}
	})
}

func TestMalformedKey(t *testing.T) {
	s := newSingle(t, Options{})
	ctx := context.Background()
	for _, key := range []string{"", "abc", strings.Repeat("A", 64), strings.Repeat("a", 63) + "*", "../" + strings.Repeat("a", 61)} {
		checks := map[string]error{}
		_, _, checks["Load"] = s.Load(ctx, key)
		checks["Apply"] = s.Apply(ctx, key, store.Change{Create: true, Expires: time.Now().Add(time.Hour)})
		checks["Delete"] = s.Delete(ctx, key)
		checks["Rename old"] = s.Rename(ctx, key, newKey(), store.Change{})
		checks["Rename new"] = s.Rename(ctx, newKey(), key, store.Change{})
		_, checks["TryLock"] = s.TryLock(ctx, key, "t", time.Second)
		checks["Unlock"] = s.Unlock(ctx, key, "t")
		_, checks["DeleteUserSessions"] = s.DeleteUserSessions(ctx, "u", key)
		if key == "" {
			delete(checks, "DeleteUserSessions") // "" means keep none
		}
		for op, err := range checks {
			if !errors.Is(err, store.ErrMalformedKey) {
				t.Errorf("%s(%q): err = %v, want ErrMalformedKey", op, key, err)
			}
		}
	}
	n, err := s.client.Keys(ctx, s.prefix+"*").Result()
	if err != nil || len(n) != 0 {
		t.Errorf("keys written for malformed keys: %v, %v", n, err)
	}
}

func TestNoResurrection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()
		key := mustCreate(t, s, store.Change{Set: values("a", "1")})
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("deleting a missing record: %v", err)
		}
		changes := map[string]store.Change{
			"set":    {Set: values("a", "2")},
			"incr":   {Incr: map[string]int64{"n": 1}},
			"touch":  {Expires: time.Now().Add(time.Hour)},
			"clear":  {Clear: true},
			"user":   {SetUser: true, UserID: "u", Expires: time.Now().Add(time.Hour)},
			"empty":  {},
			"delete": {Delete: []string{"a"}},
		}
		for name, c := range changes {
			if err := s.Apply(ctx, key, c); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s after delete: err = %v, want ErrNotFound", name, err)
			}
		}
		if n, _ := s.client.Exists(ctx, s.recordKey(key)).Result(); n != 0 {
			t.Errorf("the record is back in Redis")
		}
	})
}

// TestChangesMatchMerge applies sequences of changes to Redis and to
// store.Merge, the reference, and compares the results, including the size
// the script keeps in _n.
func TestChangesMatchMerge(t *testing.T) {
	big := `"` + strings.Repeat("compress me ", 300) + `"`
	steps := []struct {
		name string
		c    store.Change
	}{
		{"set two keys", store.Change{Set: values("a", `"x"`, "b", `[1,2,3]`)}},
		{"set a big value", store.Change{Set: values("big", big)}},
		{"increment a new key", store.Change{Incr: map[string]int64{"n": 5}}},
		{"increment it down", store.Change{Incr: map[string]int64{"n": -7}}},
		{"delete a missing key", store.Change{Delete: []string{"nope"}}},
		{"delete and set one key", store.Change{Delete: []string{"a"}, Set: values("a", `"y"`)}},
		{"delete and increment one key", store.Change{Delete: []string{"b"}, Incr: map[string]int64{"b": 2}}},
		{"set then increment one key", store.Change{Set: values("s", "10"), Incr: map[string]int64{"s": 5}}},
		{"overwrite the big value", store.Change{Set: values("big", big+" ")}},
		{"delete the big value", store.Change{Delete: []string{"big", "big"}}},
		{"clear and set", store.Change{Clear: true, Set: values("c", "true"), Incr: map[string]int64{"n": 1}}},
		{"clear only", store.Change{Clear: true}},

		{"set a number", store.Change{Set: values("q", "41")}},
		{"then increment it", store.Change{Incr: map[string]int64{"q": 1}}},
		{"increment to the int64 edge", store.Change{Set: values("m", "9223372036854775806"), Incr: map[string]int64{"m": 1}}},
		{"negative edge", store.Change{Set: values("mn", "-9223372036854775807"), Incr: map[string]int64{"mn": -1}}},
		{"cross zero", store.Change{Set: values("z", "-5"), Incr: map[string]int64{"z": 12}}},
		{"to zero", store.Change{Incr: map[string]int64{"z": -7}}},
		{"negative zero", store.Change{Set: values("nz", "-0"), Incr: map[string]int64{"nz": 0}}},
		{"empty value counts as zero", store.Change{Set: values("e", ""), Incr: map[string]int64{"e": 3}}},
		{"empty change", store.Change{}},
		{"clear, set and detach the user (a tombstone; the last step)", store.Change{Clear: true, Set: values("__gone", "true"), SetUser: true}},
	}
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()
		now := time.Now()
		key := newKey()
		first := store.Change{Create: true, Expires: now.Add(time.Hour), Now: now, Set: values("start", "1")}
		if err := s.Apply(ctx, key, first); err != nil {
			t.Fatal(err)
		}
		want, _ := store.Merge(store.Record{}, false, first, now)
		for i, step := range steps {
			at := now.Add(time.Duration(i+1) * time.Second)
			step.c.Now = at
			var err error
			want, err = store.Merge(want, true, step.c, time.Now())
			if err != nil {
				t.Fatalf("%s: Merge: %v", step.name, err)
			}
			if err := s.Apply(ctx, key, step.c); err != nil {
				t.Fatalf("%s: Apply: %v", step.name, err)
			}
			got := mustLoad(t, s, key)
			if !equalValues(got.Values, want.Values) {
				t.Fatalf("%s: values = %q, want %q", step.name, got.Values, want.Values)
			}
			if !got.LastSeen.Equal(at) || !got.Created.Equal(now) {
				t.Errorf("%s: created %v last seen %v, want %v %v", step.name, got.Created, got.LastSeen, now, at)
			}
			n, err := s.client.HGet(ctx, s.recordKey(key), fieldSize).Int()
			if err != nil || n != store.Size(want.Values) {
				t.Errorf("%s: _n = %d, %v; want store.Size %d", step.name, n, err, store.Size(want.Values))
			}
		}
	})
}

func TestIncrementErrorsApplyNothing(t *testing.T) {
	tests := []struct {
		name  string
		value string
		by    int64
	}{
		{"a string", `"abc"`, 1},
		{"a float", `1.5`, 1},
		{"an object", `{"n":1}`, 1},
		{"an int with spaces", ` 1`, 1},
		{"a leading zero", `007`, 1},
		{"a plus sign", `+41`, 1},
		{"an exponent", `1e3`, 1},
		{"a JSON string of digits", `"12"`, 1},
		{"a lone minus", `-`, 1},
		{"overflow", "9223372036854775807", 1},
		{"underflow", "-9223372036854775808", -1},
		{"out of range", "9223372036854775808", -1},
		{"a big compressed value", `"` + strings.Repeat("9", 5000) + `"`, 1},
	}
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				key := mustCreate(t, s, store.Change{Set: map[string][]byte{"v": []byte(tt.value), "keep": []byte("1")}})
				before := mustLoad(t, s, key)
				err := s.Apply(ctx, key, store.Change{
					Set:     values("other", "2"),
					Delete:  []string{"keep"},
					Incr:    map[string]int64{"v": tt.by, "fine": 1},
					Expires: time.Now().Add(2 * time.Hour),
					SetUser: true, UserID: "someone",
				})
				if !errors.Is(err, store.ErrNotNumber) {
					t.Fatalf("err = %v, want ErrNotNumber", err)
				}
				if !strings.Contains(err.Error(), `"v"`) {
					t.Errorf("error %q does not name the key", err)
				}
				after := mustLoad(t, s, key)
				if !equalValues(after.Values, before.Values) || !after.Expires.Equal(before.Expires) || after.UserID != "" || !after.LastSeen.Equal(before.LastSeen) {
					t.Errorf("record changed: %+v, was %+v", after, before)
				}
			})
		}
	})
}

func TestSizeLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		const limit = 10_000
		s := newStore(t, Options{MaxRecordSize: limit})
		ctx := context.Background()
		// Highly compressible values: the limit is on the size before
		// compression, not on what Redis holds.
		val := func(n int) []byte { return bytes.Repeat([]byte("a"), n) }
		key := mustCreate(t, s, store.Change{Set: map[string][]byte{"a": val(4000)}}) // 4001
		if err := s.Apply(ctx, key, store.Change{Set: map[string][]byte{"b": val(5998)}}); err != nil {
			t.Fatalf("reaching the limit exactly: %v", err) // 4001 + 5999 = 10000
		}
		err := s.Apply(ctx, key, store.Change{Set: map[string][]byte{"c": nil}}) // 10001
		if !errors.Is(err, store.ErrTooLarge) {
			t.Fatalf("one byte over: err = %v, want ErrTooLarge", err)
		}
		if !strings.Contains(err.Error(), "10001") {
			t.Errorf("error %q does not name the session size", err)
		}
		if rec := mustLoad(t, s, key); store.Size(rec.Values) != limit || len(rec.Values) != 2 {
			t.Errorf("after refusal the record has %d keys, size %d", len(rec.Values), store.Size(rec.Values))
		}
		// Replacing a value counts the difference; deleting frees room.
		if err := s.Apply(ctx, key, store.Change{Set: map[string][]byte{"b": val(5996)}, Incr: map[string]int64{"n": 1}}); err != nil {
			t.Errorf("shrinking b by one and adding n=1 (size stays at the limit): %v", err)
		}
		if err := s.Apply(ctx, key, store.Change{Delete: []string{"b"}, Set: map[string][]byte{"c": val(5996)}}); err != nil {
			t.Errorf("delete b and add c of b's size: %v", err)
		}
		if err := s.Apply(ctx, key, store.Change{Clear: true, Set: map[string][]byte{"d": val(9999)}}); err != nil {
			t.Errorf("clear and fill: %v", err)
		}
		err = s.Apply(ctx, newKey(), store.Change{Create: true, Expires: time.Now().Add(time.Hour), Set: map[string][]byte{"big": val(limit)}})
		if !errors.Is(err, store.ErrTooLarge) {
			t.Errorf("creating an oversized record: err = %v, want ErrTooLarge", err)
		}
	})
}

func TestExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()
		now := time.Now()

		t.Run("created already expired", func(t *testing.T) {
			key := newKey()
			err := s.Apply(ctx, key, store.Change{Create: true, Set: values("a", "1"), Expires: now.Add(-time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := s.Load(ctx, key); ok {
				t.Error("an expired record loads")
			}
			if n, _ := s.client.Exists(ctx, s.recordKey(key)).Result(); n != 0 {
				t.Error("an expired record is kept in Redis")
			}
		})
		t.Run("created without expiry", func(t *testing.T) {
			key := newKey()
			if err := s.Apply(ctx, key, store.Change{Create: true, Set: values("a", "1")}); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := s.Load(ctx, key); ok {
				t.Error("a record without expiry loads")
			}
		})
		t.Run("the store's clock decides, not the change's", func(t *testing.T) {
			key := mustCreate(t, s, store.Change{Set: values("a", "1"), Expires: now.Add(time.Hour)})
			if err := s.Apply(ctx, key, store.Change{Set: values("a", "2"), Now: now.Add(2 * time.Hour)}); err != nil {
				t.Errorf("update of a live record carrying a later clock: %v", err)
			}
			late := *s
			shift(&late, time.Hour)
			if err := late.Apply(ctx, key, store.Change{Set: values("a", "3"), Now: now}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("update at the expiry instant by the store's clock: err = %v, want ErrNotFound", err)
			}
			if got := mustLoad(t, s, key); string(got.Values["a"]) != "2" {
				t.Errorf("a = %s, want 2", got.Values["a"])
			}
		})
		t.Run("create over an expired record", func(t *testing.T) {
			key := mustCreate(t, s, store.Change{Set: values("old", "1"), SetUser: true, UserID: "u", Expires: now.Add(time.Hour)})
			late := *s
			shift(&late, 2*time.Hour)
			later := now.Add(2 * time.Hour)
			err := late.Apply(ctx, key, store.Change{Create: true, Set: values("new", "1"), Now: later, Expires: later.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			rec := mustLoad(t, &late, key)
			if !equalValues(rec.Values, values("new", "1")) || rec.UserID != "" || !rec.Created.Equal(later) {
				t.Errorf("replaced record = %+v", rec)
			}
		})
		t.Run("Change.Created on create", func(t *testing.T) {
			born := now.Add(-24 * time.Hour)
			key := mustCreate(t, s, store.Change{Created: born, Now: now})
			if rec := mustLoad(t, s, key); !rec.Created.Equal(born) || !rec.LastSeen.Equal(now) {
				t.Errorf("created %v last seen %v, want %v %v", rec.Created, rec.LastSeen, born, now)
			}
		})
		t.Run("load checks this process's clock", func(t *testing.T) {
			key := mustCreate(t, s, store.Change{Set: values("a", "1"), Expires: time.Now().Add(time.Minute)})
			s2 := *s
			shift(&s2, time.Minute)
			if _, ok, _ := s2.Load(ctx, key); ok {
				t.Error("a record expired by the client's clock loads")
			}
			if _, ok, _ := s.Load(ctx, key); !ok {
				t.Error("the record is gone for the unshifted store")
			}
		})
		t.Run("touch extends the TTL", func(t *testing.T) {
			key := mustCreate(t, s, store.Change{Expires: time.Now().Add(time.Minute)})
			exp := time.Now().Add(5 * time.Hour)
			if err := s.Apply(ctx, key, store.Change{Expires: exp}); err != nil {
				t.Fatal(err)
			}
			if rec := mustLoad(t, s, key); !rec.Expires.Equal(exp) {
				t.Errorf("expires = %v, want %v", rec.Expires, exp)
			}
			if pttl, _ := s.client.PTTL(ctx, s.recordKey(key)).Result(); pttl < 4*time.Hour {
				t.Errorf("PTTL = %v, want about 5h", pttl)
			}
			if err := s.Apply(ctx, key, store.Change{Expires: time.Now().Add(-time.Second)}); err != nil {
				t.Fatal(err)
			}
			if n, _ := s.client.Exists(ctx, s.recordKey(key)).Result(); n != 0 {
				t.Error("a record touched into the past is kept in Redis")
			}
		})
	})
}

func TestValuesRoundTrip(t *testing.T) {
	gzipLike := []byte{0x1f, 0x8b, 'n', 'o', 't', ' ', 'g', 'z', 'i', 'p'}
	tests := []struct {
		name  string
		value []byte
	}{
		{"empty", []byte{}},
		{"unicode", []byte(`"日本語 ✓ \u0000"`)},
		{"raw bytes that start like gzip", gzipLike},
		{"a long compressible value", []byte(`"` + strings.Repeat("session ", 20000) + `"`)},
		{"a long incompressible value", func() []byte {
			b := make([]byte, 5000)
			for i := range b {
				b[i] = byte(i*7919>>3) | 0x20
			}
			return b
		}()},
		{"binary with CRLF and NUL", []byte("a\r\nb\x00c")},
	}
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				key := mustCreate(t, s, store.Change{Set: map[string][]byte{"k\r\n:é": tt.value}})
				rec := mustLoad(t, s, key)
				if got := rec.Values["k\r\n:é"]; !bytes.Equal(got, tt.value) {
					t.Errorf("got %d bytes %.40q, want %d bytes %.40q", len(got), got, len(tt.value), tt.value)
				}
			})
		}
	})
}

// TestConcurrentWriters is the lost-update probe: distinct keys written by
// 100 goroutines all survive, and 100 concurrent increments add up.
func TestConcurrentWriters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()
		key := mustCreate(t, s, store.Change{})
		const n = 100
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := range n {
			wg.Go(func() {
				errs <- s.Apply(ctx, key, store.Change{Set: map[string][]byte{fmt.Sprint("k", i): []byte(fmt.Sprint(i))}})
			})
			wg.Go(func() {
				errs <- s.Apply(ctx, key, store.Change{Incr: map[string]int64{"count": 1}})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		rec := mustLoad(t, s, key)
		lost := 0
		for i := range n {
			if string(rec.Values[fmt.Sprint("k", i)]) != fmt.Sprint(i) {
				lost++
			}
		}
		if lost != 0 || string(rec.Values["count"]) != "100" {
			t.Errorf("lost %d of %d writes; count = %s, want 100", lost, n, rec.Values["count"])
		}
	})
}

func TestCancelledContext(t *testing.T) {
	s := newSingle(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	key := newKey()
	_, _, errLoad := s.Load(ctx, key)
	errApply := s.Apply(ctx, key, store.Change{Create: true, Expires: time.Now().Add(time.Hour)})
	errDelete := s.Delete(ctx, key)
	_, errUsers := s.UserSessions(ctx, "u")
	errList := s.List(ctx, func(store.Entry) error { return nil })
	_, errPrune := s.Prune(ctx)
	errToken := s.CreateToken(ctx, newToken("u", time.Hour))
	_, _, errTake := s.Take(ctx, key, "a", "")
	errRename := s.Rename(ctx, key, newKey(), store.Change{})
	for i, err := range []error{errLoad, errApply, errDelete, errUsers, errList, errPrune, errToken, errTake, errRename} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("call %d: err = %v, want context.Canceled", i, err)
		}
	}
	if _, ok, _ := s.Load(context.Background(), key); ok {
		t.Error("a cancelled create was stored")
	}
}

func TestNewOptions(t *testing.T) {
	s := newSingle(t, Options{Prefix: "x:"})
	if _, err := New(s.client, Options{MaxRecordSize: -1}); err == nil {
		t.Error("negative MaxRecordSize accepted")
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("nil client accepted")
	}
	d, err := New(s.client, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.prefix != DefaultPrefix || d.threshold != store.DefaultCompressThreshold || d.maxSize != store.DefaultMaxRecordSize {
		t.Errorf("defaults = %q %d %d", d.prefix, d.threshold, d.maxSize)
	}
	if err := d.Close(); err != nil || d.client.Ping(context.Background()).Err() != nil {
		t.Errorf("Close of a Store made by New closed the caller's client")
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	if _, err := New(ring, Options{AutoPipeline: true}); err == nil {
		t.Error("AutoPipeline accepted for a Ring, which has no auto-pipeliner")
	}
	ap, err := New(s.client, Options{AutoPipeline: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ap.hot.(*redis.AutoPipeliner); !ok {
		t.Errorf("AutoPipeline: Load and Apply go through a %T", ap.hot)
	}
}
