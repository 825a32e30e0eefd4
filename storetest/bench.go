package storetest

import (
	"encoding/binary"
	"encoding/hex"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

// benchValues is a typical logged-in session: a user ID, a counter, a CSRF
// token, a flash message and a small struct.
func benchValues() map[string][]byte {
	return vals(
		"user_id", "1234567",
		"views", "41",
		"csrf", `"q9c3Yx0VdE1bP7v2m8sK4tA6wZ5rL1nH0jG3fD2sA9k"`,
		"_flash", `{"notice":"Welcome back!"}`,
		"cart", `{"items":[{"sku":"TEA-042","qty":2},{"sku":"MUG-007","qty":1}],"total":3150}`,
	)
}

// RunBenchmarks runs the store benchmarks against the store newStore returns
// (one store for each benchmark), with b.ReportAllocs:
//
//   - Load: load a typical five-value session.
//   - Apply: set one value of it and touch its expiry, as a request that
//     changed the session commits.
//   - ApplyIncr: increment a counter in it.
//   - Create: store a new two-value session under a new key.
//   - LoadParallel: Load from GOMAXPROCS goroutines, each on its own session.
func RunBenchmarks(b *testing.B, newStore func(b *testing.B) store.Store) {
	b.Helper()
	setup := func(b *testing.B) (store.Store, string) {
		b.Helper()
		st := newStore(b)
		key := NewKey()
		err := st.Apply(b.Context(), key, store.Change{Create: true, Set: benchValues(), Expires: time.Now().Add(time.Hour),
			SetUser: true, UserID: "1234567", IP: "203.0.113.7", UserAgent: "Mozilla/5.0"})
		if err != nil {
			b.Fatal(err)
		}
		return st, key
	}

	b.Run("Load", func(b *testing.B) {
		st, key := setup(b)
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := st.Load(ctx, key); err != nil || !ok {
				b.Fatalf("Load: %v, %v", ok, err)
			}
		}
	})

	b.Run("Apply", func(b *testing.B) {
		st, key := setup(b)
		ctx := b.Context()
		c := store.Change{Set: vals("_flash", `{"notice":"Saved."}`)}
		b.ReportAllocs()
		for b.Loop() {
			c.Expires = time.Now().Add(time.Hour)
			if err := st.Apply(ctx, key, c); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("ApplyIncr", func(b *testing.B) {
		st, key := setup(b)
		ctx := b.Context()
		c := store.Change{Incr: map[string]int64{"views": 1}}
		b.ReportAllocs()
		for b.Loop() {
			if err := st.Apply(ctx, key, c); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("Create", func(b *testing.B) {
		st := newStore(b)
		ctx := b.Context()
		c := store.Change{Create: true, Set: vals("user_id", "1234567", "csrf", `"q9c3Yx0VdE1bP7v2m8sK4tA6wZ5rL1nH0jG3fD2sA9k"`),
			Expires: time.Now().Add(time.Hour)}
		prefix := NewKey()[:48]
		var n uint64
		b.ReportAllocs()
		for b.Loop() {
			n++
			if err := st.Apply(ctx, counterKey(prefix, n), c); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("LoadParallel", func(b *testing.B) {
		st := newStore(b)
		ctx := b.Context()
		keys := make([]string, runtime.GOMAXPROCS(0))
		for i := range keys {
			keys[i] = NewKey()
			err := st.Apply(ctx, keys[i], store.Change{Create: true, Set: benchValues(), Expires: time.Now().Add(time.Hour)})
			if err != nil {
				b.Fatal(err)
			}
		}
		var next atomic.Uint32
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			key := keys[int(next.Add(1))%len(keys)]
			for pb.Next() {
				if _, ok, err := st.Load(ctx, key); err != nil || !ok {
					b.Errorf("Load: %v, %v", ok, err)
					return
				}
			}
		})
	})
}

// counterKey returns a valid store key made of a 48-character hex prefix and
// n, cheaper to make than a hash in a benchmark loop.
func counterKey(prefix string, n uint64) string {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], n)
	return prefix + hex.EncodeToString(buf[:])
}
