package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sesamego/sesame/cookiestore"
	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/seal"
	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

// passThrough is a wrapper that makes every call unchanged.
var passThrough = store.WrapperFunc(func(ctx context.Context, _ *store.Call, next func(context.Context) error) error {
	return next(ctx)
})

// recorder is a wrapper that records every call it sees, after it returns.
type recorder struct {
	mu    sync.Mutex
	calls []store.Call
}

func (r *recorder) Around(ctx context.Context, c *store.Call, next func(context.Context) error) error {
	err := next(ctx)
	r.mu.Lock()
	r.calls = append(r.calls, *c)
	r.mu.Unlock()
	return err
}

func (r *recorder) last() store.Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		return store.Call{}
	}
	return r.calls[len(r.calls)-1]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func newFilestore(t *testing.T) *filestore.Store {
	t.Helper()
	fs, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func newCookiestore(t *testing.T) *cookiestore.Store {
	t.Helper()
	k, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := seal.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cookiestore.New(cookiestore.Options{Keys: kr})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// capability reports one optional interface of a store, or the answer of a
// yes-or-no one (Local, ClientSide).
type capability struct {
	name string
	has  func(store.Store) bool
}

func implements[T any](name string) capability {
	return capability{name, func(s store.Store) bool { _, ok := s.(T); return ok }}
}

var capabilities = []capability{
	implements[store.Pruner]("Pruner"),
	implements[store.Lister]("Lister"),
	implements[store.UserIndex]("UserIndex"),
	implements[store.Renamer]("Renamer"),
	implements[store.Locker]("Locker"),
	implements[store.Taker]("Taker"),
	implements[store.TokenStore]("TokenStore"),
	{"Local() is true", func(s store.Store) bool { l, ok := s.(interface{ Local() bool }); return ok && l.Local() }},
	{"ClientSide() is true", func(s store.Store) bool { cs, ok := s.(store.ClientSide); return ok && cs.ClientSide() }},
}

func TestWrapKeepsTheCapabilitiesOfEveryStore(t *testing.T) {
	tests := []struct {
		name  string
		inner func(t *testing.T) store.Store
		// must lists capabilities the store is known to have, so that the
		// test fails if a store loses one instead of passing vacuously.
		must []string
	}{
		{"memstore", func(*testing.T) store.Store { return memstore.New() },
			[]string{"Pruner", "Lister", "UserIndex", "Renamer", "Locker", "Taker", "Local() is true"}},
		{"filestore", func(t *testing.T) store.Store { return newFilestore(t) },
			[]string{"Pruner", "Lister", "UserIndex", "Renamer", "Locker", "Taker", "TokenStore"}},
		{"cookiestore", func(t *testing.T) store.Store { return newCookiestore(t) },
			[]string{"UserIndex", "ClientSide() is true"}},
		{"a wrapped memstore", func(*testing.T) store.Store { return store.Wrap(memstore.New(), passThrough) },
			[]string{"Pruner", "Lister", "UserIndex", "Renamer", "Locker", "Taker", "Local() is true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := tt.inner(t)
			wrapped := store.Wrap(inner, passThrough)
			for _, c := range capabilities {
				if got, want := c.has(wrapped), c.has(inner); got != want {
					t.Errorf("%s: wrapped %v, inner %v", c.name, got, want)
				}
			}
			for _, name := range tt.must {
				for _, c := range capabilities {
					if c.name == name && !c.has(wrapped) {
						t.Errorf("the wrapped %s has lost %s", tt.name, name)
					}
				}
			}
			if _, ok := wrapped.(interface {
				LoadShared(context.Context, string) (store.Record, bool, error)
			}); ok {
				t.Error("the wrapped store has LoadShared")
			}
			u, ok := wrapped.(interface{ Unwrap() store.Store })
			if !ok || u.Unwrap() != inner {
				t.Errorf("Unwrap does not return the inner store")
			}
		})
	}
}

// step is one call through a wrapped store and the Call the wrapper sees.
type step struct {
	name string
	do   func(ctx context.Context, s store.Store) error
	want store.Call
}

func TestWrapRunsEveryCallThroughTheWrapper(t *testing.T) {
	k1, k2 := store.Key("session one"), store.Key("session two")
	now := time.Now()
	set := store.Change{Create: true, Set: map[string][]byte{"a": []byte(`"x"`)}, Expires: now.Add(time.Hour),
		SetUser: true, UserID: "u1"}
	tok := store.Token{Selector: "sel", UserID: "u1", Hash: []byte("h1"), Created: now, Expires: now.Add(time.Hour)}
	is := func(found bool, err error) error { // a call's answer must be found
		if err == nil && !found {
			return errors.New("found nothing")
		}
		return err
	}
	isNot := func(found bool, err error) error {
		if err == nil && found {
			return errors.New("found something")
		}
		return err
	}
	count := func(want int) func(int, error) error {
		return func(n int, err error) error {
			if err == nil && n != want {
				return fmt.Errorf("count %d, want %d", n, want)
			}
			return err
		}
	}
	steps := []step{
		{"apply", func(ctx context.Context, s store.Store) error { return s.Apply(ctx, k1, set) },
			store.Call{Op: store.OpApply, Key: k1}},
		{"load of a live record", func(ctx context.Context, s store.Store) error {
			_, ok, err := s.Load(ctx, k1)
			return is(ok, err)
		}, store.Call{Op: store.OpLoad, Key: k1, Found: true}},
		{"load of a missing record", func(ctx context.Context, s store.Store) error {
			_, ok, err := s.Load(ctx, k2)
			return isNot(ok, err)
		}, store.Call{Op: store.OpLoad, Key: k2}},
		{"take", func(ctx context.Context, s store.Store) error {
			_, ok, err := s.(store.Taker).Take(ctx, k1, "a", "")
			return is(ok, err)
		}, store.Call{Op: store.OpTake, Key: k1, Found: true}},
		{"take of a taken value", func(ctx context.Context, s store.Store) error {
			_, ok, err := s.(store.Taker).Take(ctx, k1, "a", "")
			return isNot(ok, err)
		}, store.Call{Op: store.OpTake, Key: k1}},
		{"rename", func(ctx context.Context, s store.Store) error {
			return s.(store.Renamer).Rename(ctx, k1, k2, store.Change{})
		}, store.Call{Op: store.OpRename, Key: k1, NewKey: k2}},
		{"lock", func(ctx context.Context, s store.Store) error {
			return is(s.(store.Locker).TryLock(ctx, k2, "t1", time.Minute))
		}, store.Call{Op: store.OpLock, Key: k2, Found: true}},
		{"lock of a held lock", func(ctx context.Context, s store.Store) error {
			return isNot(s.(store.Locker).TryLock(ctx, k2, "t2", time.Minute))
		}, store.Call{Op: store.OpLock, Key: k2}},
		{"unlock", func(ctx context.Context, s store.Store) error {
			return s.(store.Locker).Unlock(ctx, k2, "t1")
		}, store.Call{Op: store.OpUnlock, Key: k2}},
		{"list", func(ctx context.Context, s store.Store) error {
			return s.(store.Lister).List(ctx, func(store.Entry) error { return nil })
		}, store.Call{Op: store.OpList, Count: 1}},
		{"user sessions", func(ctx context.Context, s store.Store) error {
			es, err := s.(store.UserIndex).UserSessions(ctx, "u1")
			return count(1)(len(es), err)
		}, store.Call{Op: store.OpUserSessions, Count: 1}},
		{"delete user sessions", func(ctx context.Context, s store.Store) error {
			return count(1)(s.(store.UserIndex).DeleteUserSessions(ctx, "u1", ""))
		}, store.Call{Op: store.OpDeleteUserSessions, Count: 1}},
		{"delete", func(ctx context.Context, s store.Store) error { return s.Delete(ctx, k2) },
			store.Call{Op: store.OpDelete, Key: k2}},
		{"prune", func(ctx context.Context, s store.Store) error {
			return count(0)(s.(store.Pruner).Prune(ctx))
		}, store.Call{Op: store.OpPrune}},
		{"create token", func(ctx context.Context, s store.Store) error {
			return s.(store.TokenStore).CreateToken(ctx, tok)
		}, store.Call{Op: store.OpCreateToken}},
		{"lookup token", func(ctx context.Context, s store.Store) error {
			_, ok, err := s.(store.TokenStore).LookupToken(ctx, "sel")
			return is(ok, err)
		}, store.Call{Op: store.OpLookupToken, Found: true}},
		{"rotate token", func(ctx context.Context, s store.Store) error {
			return is(s.(store.TokenStore).RotateToken(ctx, "sel", []byte("h1"), []byte("h2"), now))
		}, store.Call{Op: store.OpRotateToken, Found: true}},
		{"delete token", func(ctx context.Context, s store.Store) error {
			return s.(store.TokenStore).DeleteToken(ctx, "sel")
		}, store.Call{Op: store.OpDeleteToken}},
		{"delete user tokens", func(ctx context.Context, s store.Store) error {
			if err := s.(store.TokenStore).CreateToken(ctx, tok); err != nil {
				return err
			}
			return count(1)(s.(store.TokenStore).DeleteUserTokens(ctx, "u1"))
		}, store.Call{Op: store.OpDeleteUserTokens, Count: 1}},
		{"a failed call has no answer", func(ctx context.Context, s store.Store) error {
			if _, _, err := s.Load(ctx, "not a key"); !errors.Is(err, store.ErrMalformedKey) {
				return fmt.Errorf("load of a malformed key: %v, want ErrMalformedKey", err)
			}
			return nil
		}, store.Call{Op: store.OpLoad, Key: "not a key"}},
	}

	// The file store has every optional interface.
	rec := &recorder{}
	s := store.Wrap(newFilestore(t), rec)
	ctx := context.Background()
	for _, st := range steps {
		before := rec.count()
		if err := st.do(ctx, s); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if n := rec.count() - before; n < 1 {
			t.Fatalf("%s: the wrapper saw no call", st.name)
		}
		if got := rec.last(); got != st.want {
			t.Errorf("%s: the wrapper saw %+v, want %+v", st.name, got, st.want)
		}
	}
}

// spy is a store that records the calls that reach it and the context of
// the last one.
type spy struct {
	calls int
	ctx   context.Context
	err   error
}

func (s *spy) Load(ctx context.Context, key string) (store.Record, bool, error) {
	s.calls++
	s.ctx = ctx
	return store.Record{}, s.err == nil, s.err
}
func (s *spy) Apply(ctx context.Context, key string, c store.Change) error {
	s.calls++
	s.ctx = ctx
	return s.err
}
func (s *spy) Delete(ctx context.Context, key string) error { s.calls++; s.ctx = ctx; return s.err }

type ctxKey struct{}

func TestWrapperContract(t *testing.T) {
	errOwn := errors.New("refused by the wrapper")
	errStore := fmt.Errorf("%w: connection refused", store.ErrUnavailable)
	tests := []struct {
		name      string
		storeErr  error
		around    store.WrapperFunc
		wantErr   error // nil: no error
		wantCalls int   // calls that reach the store
		check     func(t *testing.T, s *spy)
		anyErr    bool // any error will do
	}{
		{"a wrapper that calls next makes the call", nil,
			func(ctx context.Context, _ *store.Call, next func(context.Context) error) error { return next(ctx) },
			nil, 1, nil, false},
		{"the context the wrapper passes reaches the store", nil,
			func(ctx context.Context, _ *store.Call, next func(context.Context) error) error {
				return next(context.WithValue(ctx, ctxKey{}, "span"))
			},
			nil, 1, func(t *testing.T, s *spy) {
				if s.ctx.Value(ctxKey{}) != "span" {
					t.Error("the store did not get the wrapper's context")
				}
			}, false},
		{"the store's error comes back through the wrapper", errStore,
			func(ctx context.Context, _ *store.Call, next func(context.Context) error) error { return next(ctx) },
			store.ErrUnavailable, 1, nil, false},
		{"a wrapper's own error fails the call without reaching the store", nil,
			func(context.Context, *store.Call, func(context.Context) error) error { return errOwn },
			errOwn, 0, nil, false},
		{"a wrapper that skips the call without an error fails it as unavailable", nil,
			func(context.Context, *store.Call, func(context.Context) error) error { return nil },
			store.ErrUnavailable, 0, nil, false},
		{"a second call to next does not reach the store", nil,
			func(ctx context.Context, _ *store.Call, next func(context.Context) error) error {
				if err := next(ctx); err != nil {
					return err
				}
				return next(ctx)
			},
			nil, 1, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, op := range []struct {
				name string
				do   func(s store.Store) error
			}{
				{"load", func(s store.Store) error { _, _, err := s.Load(context.Background(), store.Key("x")); return err }},
				{"apply", func(s store.Store) error { return s.Apply(context.Background(), store.Key("x"), store.Change{}) }},
				{"delete", func(s store.Store) error { return s.Delete(context.Background(), store.Key("x")) }},
			} {
				sp := &spy{err: tt.storeErr}
				err := op.do(store.Wrap(sp, tt.around))
				switch {
				case tt.anyErr:
					if err == nil {
						t.Errorf("%s: no error, want one", op.name)
					}
				case tt.wantErr == nil && err != nil:
					t.Errorf("%s: %v, want no error", op.name, err)
				case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
					t.Errorf("%s: %v, want %v", op.name, err, tt.wantErr)
				}
				if sp.calls != tt.wantCalls {
					t.Errorf("%s: %d calls reached the store, want %d", op.name, sp.calls, tt.wantCalls)
				}
				if tt.check != nil {
					tt.check(t, sp)
				}
			}
		})
	}
}

func TestWrapOfNothingPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"nil store":   func() { store.Wrap(nil, passThrough) },
		"nil wrapper": func() { store.Wrap(memstore.New(), nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

func TestOpString(t *testing.T) {
	tests := []struct {
		op   store.Op
		want string
	}{
		{store.OpLoad, "load"},
		{store.OpLock, "lock"},
		{store.OpDeleteUserSessions, "delete_user_sessions"},
		{store.OpDeleteUserTokens, "delete_user_tokens"},
		{0, "unknown"},
		{store.OpDeleteUserTokens + 1, "unknown"},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.want {
			t.Errorf("Op(%d).String() = %q, want %q", int(tt.op), got, tt.want)
		}
	}
}

// The wrapped stores pass the whole conformance suite, optional interfaces
// included: the wrapper changes nothing of what a store does.
func TestConformanceThroughAWrapper(t *testing.T) {
	t.Run("memstore", func(t *testing.T) {
		storetest.Run(t, func(*testing.T) store.Store { return store.Wrap(memstore.New(), &recorder{}) })
	})
	t.Run("filestore", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return store.Wrap(newFilestore(t), passThrough) })
	})
	t.Run("filestore tokens", func(t *testing.T) {
		storetest.RunTokens(t, func(t *testing.T) store.TokenStore {
			return store.Wrap(newFilestore(t), passThrough).(store.TokenStore)
		})
	})
}

// The cost of a wrapper that does nothing, over memstore's own (compare
// with memstore's BenchmarkStore/load).
func BenchmarkWrap(b *testing.B) {
	ctx := context.Background()
	key := store.Key("a session")
	for _, bc := range []struct {
		name string
		st   store.Store
	}{
		{"memstore", memstore.New()},
		{"wrapped memstore", store.Wrap(memstore.New(), passThrough)},
	} {
		if err := bc.st.Apply(ctx, key, store.Change{Create: true, Set: map[string][]byte{"k": []byte(`"v"`)}, Expires: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name+"/load", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := bc.st.Load(ctx, key); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/apply", func(b *testing.B) {
			b.ReportAllocs()
			c := store.Change{Expires: time.Now().Add(time.Hour)}
			for b.Loop() {
				if err := bc.st.Apply(ctx, key, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
