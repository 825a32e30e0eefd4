package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/store"
)

func TestLock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()
		key := newKey() // a lock needs no record
		if ok, err := s.TryLock(ctx, key, "a", 10*time.Second); !ok || err != nil {
			t.Fatalf("first TryLock = %v, %v", ok, err)
		}
		if ok, err := s.TryLock(ctx, key, "b", 10*time.Second); ok || err != nil {
			t.Errorf("second TryLock = %v, %v; want false", ok, err)
		}
		if pttl, _ := s.client.PTTL(ctx, s.lockKey(key)).Result(); pttl <= 9*time.Second || pttl > 10*time.Second {
			t.Errorf("lock PTTL = %v, want about 10s", pttl)
		}
		if err := s.Unlock(ctx, key, "b"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.TryLock(ctx, key, "b", time.Second); ok {
			t.Error("Unlock with another token released the lock")
		}
		if err := s.Unlock(ctx, key, "a"); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.TryLock(ctx, key, "b", 1500*time.Microsecond); !ok || err != nil {
			t.Errorf("TryLock after Unlock = %v, %v", ok, err)
		}
		if pttl, _ := s.client.PTTL(ctx, s.lockKey(key)).Result(); pttl > 2*time.Millisecond {
			t.Errorf("a 1.5ms lock has PTTL %v, want 2ms at most", pttl)
		}
		if err := s.Unlock(ctx, newKey(), "x"); err != nil {
			t.Errorf("Unlock of a free lock: %v", err)
		}
		if _, err := s.TryLock(ctx, key, "", time.Second); err == nil {
			t.Error("empty token accepted")
		}
		if _, err := s.TryLock(ctx, key, "c", 0); err == nil {
			t.Error("zero ttl accepted")
		}
	})
}

// TestLockContention has 20 goroutines take turns on one lock: at most one
// holds it at a time, and all get it.
func TestLockContention(t *testing.T) {
	s := newSingle(t, Options{})
	ctx := context.Background()
	key := newKey()
	var (
		mu      sync.Mutex
		holders int
		maxSeen int
		wg      sync.WaitGroup
	)
	for i := range 20 {
		wg.Go(func() {
			token := fmt.Sprint("t", i)
			for {
				ok, err := s.TryLock(ctx, key, token, 5*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					break
				}
				time.Sleep(time.Millisecond)
			}
			mu.Lock()
			holders++
			maxSeen = max(maxSeen, holders)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			holders--
			mu.Unlock()
			if err := s.Unlock(ctx, key, token); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if maxSeen != 1 {
		t.Errorf("%d goroutines held the lock at once", maxSeen)
	}
}

func TestTake(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()
		big := []byte(`"` + strings.Repeat("flash ", 1000) + `"`)
		key := mustCreate(t, s, store.Change{Set: map[string][]byte{"flash": []byte(`"hi"`), "big": big, "keep": []byte("1")}})
		v, ok, err := s.Take(ctx, key, "flash", "")
		if string(v) != `"hi"` || !ok || err != nil {
			t.Errorf("Take = %q, %v, %v", v, ok, err)
		}
		if v, ok, err := s.Take(ctx, key, "flash", ""); ok || err != nil || v != nil {
			t.Errorf("second Take = %q, %v, %v; want nothing", v, ok, err)
		}
		if v, ok, _ := s.Take(ctx, key, "big", ""); !ok || string(v) != string(big) {
			t.Errorf("Take of a compressed value = %d bytes, %v", len(v), ok)
		}
		if rec := mustLoad(t, s, key); !equalValues(rec.Values, values("keep", "1")) {
			t.Errorf("values after Take = %q", rec.Values)
		}
		if n, _ := s.client.HGet(ctx, s.recordKey(key), fieldSize).Int(); n != len("keep")+1 {
			t.Errorf("_n = %d after Take, want %d", n, len("keep")+1)
		}
		if _, ok, err := s.Take(ctx, newKey(), "x", ""); ok || err != nil {
			t.Errorf("Take on a missing record = %v, %v", ok, err)
		}
		later := *s
		shift(&later, 2*time.Hour)
		if _, ok, _ := later.Take(ctx, key, "keep", ""); ok {
			t.Error("Take on an expired record took")
		}

		// Racing takers: exactly one wins.
		key = mustCreate(t, s, store.Change{Set: values("once", "1")})
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 20 {
			wg.Go(func() {
				if _, ok, err := s.Take(ctx, key, "once", ""); ok && err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d takers got the value, want 1", wins)
		}
	})
}

func TestListAndPrune(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()
		var live []string
		for i := range 30 {
			live = append(live, mustCreate(t, s, store.Change{Set: values("i", fmt.Sprint(i))}))
		}
		// Expired by this process's clock, but Redis holds it for a minute.
		stale := mustCreate(t, s, store.Change{Expires: time.Now().Add(time.Minute)})
		late := *s
		shift(&late, 2*time.Minute)
		// A lock and a user index: neither is a record.
		if _, err := s.TryLock(ctx, newKey(), "t", time.Minute); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, s, store.Change{SetUser: true, UserID: "ivan", Expires: time.Now().Add(time.Hour)})

		var listed []string
		err := late.List(ctx, func(e store.Entry) error {
			if e.Record.Values == nil {
				t.Errorf("entry %s without values", e.Key)
			}
			listed = append(listed, e.Key)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(listed, stale) || len(listed) != 31 {
			t.Errorf("listed %d records (stale one: %v), want 31 live", len(listed), slices.Contains(listed, stale))
		}
		for _, k := range live {
			if !slices.Contains(listed, k) {
				t.Errorf("%s not listed", k)
			}
		}

		calls := 0
		if err := s.List(ctx, func(store.Entry) error { calls++; return store.ErrStop }); err != nil || calls != 1 {
			t.Errorf("List with ErrStop = %v after %d calls", err, calls)
		}
		boom := errors.New("boom")
		if err := s.List(ctx, func(store.Entry) error { return boom }); !errors.Is(err, boom) {
			t.Errorf("List returned %v, want the callback's error", err)
		}

		n, err := late.Prune(ctx)
		if err != nil || n != 1 {
			t.Errorf("Prune = %d, %v; want the one stale record", n, err)
		}
		if ex, _ := s.client.Exists(ctx, s.recordKey(stale)).Result(); ex != 0 {
			t.Error("the stale record is still in Redis")
		}
		if n, err := s.Prune(ctx); n != 0 || err != nil {
			t.Errorf("second Prune = %d, %v", n, err)
		}
	})
}

// TestUnavailable points a store at a closed port: every call fails fast
// with an error wrapping store.ErrUnavailable and the client's own error.
func TestUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, DialerRetries: 1, MaxRetries: 1})
	defer client.Close()
	s, err := New(client, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := newKey()
	calls := map[string]func() error{
		"Load":               func() error { _, _, err := s.Load(ctx, key); return err },
		"Apply":              func() error { return s.Apply(ctx, key, store.Change{Create: true, Expires: time.Now().Add(time.Hour)}) },
		"Delete":             func() error { return s.Delete(ctx, key) },
		"UserSessions":       func() error { _, err := s.UserSessions(ctx, "u"); return err },
		"DeleteUserSessions": func() error { _, err := s.DeleteUserSessions(ctx, "u", ""); return err },
		"Rename":             func() error { return s.Rename(ctx, key, newKey(), store.Change{}) },
		"TryLock":            func() error { _, err := s.TryLock(ctx, key, "t", time.Second); return err },
		"Take":               func() error { _, _, err := s.Take(ctx, key, "f", ""); return err },
		"List":               func() error { return s.List(ctx, func(store.Entry) error { return nil }) },
		"Prune":              func() error { _, err := s.Prune(ctx); return err },
		"CreateToken":        func() error { return s.CreateToken(ctx, newToken("u", time.Hour)) },
		"LookupToken":        func() error { _, _, err := s.LookupToken(ctx, "sel"); return err },
		"RotateToken":        func() error { _, err := s.RotateToken(ctx, "sel", []byte("a"), []byte("b"), time.Now()); return err },
		"DeleteToken":        func() error { return s.DeleteToken(ctx, "sel") },
		"DeleteUserTokens":   func() error { _, err := s.DeleteUserTokens(ctx, "u"); return err },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s took %v", name, d)
		}
		var opErr *net.OpError
		if !errors.Is(err, store.ErrUnavailable) || !errors.As(err, &opErr) {
			t.Errorf("%s: err = %v, want ErrUnavailable wrapping the dial error", name, err)
		}
	}
}
