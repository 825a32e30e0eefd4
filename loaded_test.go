package sesame

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/sesamego/sesame/internal/flat"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"
)

// embedsMemstore gets memstore's LoadFlat promoted, but not as its own.
type embedsMemstore struct{ *memstore.Store }

// forwardsFlat declares LoadFlat itself, as a decorator that wants the
// in-place load does.
type forwardsFlat struct{ *memstore.Store }

func (f *forwardsFlat) LoadFlat(ctx context.Context, key string) ([]byte, bool, error) {
	return f.Store.LoadFlat(ctx, key)
}
func (f *forwardsFlat) FlatLoader() any { return f }

// uncomparable claims LoadFlat as its own, but its type cannot be compared.
type uncomparable struct {
	*memstore.Store
	tags []string
}

func (u uncomparable) FlatLoader() any { return u }

func TestFlatLoaderOnlyWhenLoadFlatIsTheStoresOwn(t *testing.T) {
	ms := memstore.New()
	tests := []struct {
		name string
		st   store.Store
		want bool
	}{
		{"a memstore", ms, true},
		{"a type that embeds a memstore", &embedsMemstore{ms}, false},
		{"the same by value", embedsMemstore{ms}, false},
		{"a decorator that declares LoadFlat", &forwardsFlat{ms}, true},
		{"a type that cannot be compared", uncomparable{ms, nil}, false},
		{"a store.Wrap of a memstore", store.Wrap(ms, store.WrapperFunc(func(ctx context.Context, _ *store.Call, next func(context.Context) error) error {
			return next(ctx)
		})), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := flatLoaderOf(tt.st) != nil; got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHasValues(t *testing.T) {
	one := map[string][]byte{"a": []byte("1")}
	bases := map[string]func(map[string][]byte) baseValues{
		"flat": func(m map[string][]byte) baseValues {
			return baseValues{f: flat.Encode(store.Record{Values: m}).Values()}
		},
		"map": func(m map[string][]byte) baseValues {
			if m == nil {
				m = map[string][]byte{}
			}
			return baseValues{m: m}
		},
	}
	tests := []struct {
		name  string
		base  map[string][]byte
		clear bool
		set   map[string][]byte
		del   []string
		want  bool
	}{
		{name: "nothing loaded, nothing put", want: false},
		{name: "a loaded value", base: one, want: true},
		{name: "a loaded value forgotten", base: one, del: []string{"a"}, want: false},
		{name: "another value forgotten", base: one, del: []string{"b"}, want: true},
		{name: "a loaded value cleared", base: one, clear: true, want: false},
		{name: "a value put after a clear", base: one, clear: true, set: one, want: true},
		{name: "a value put in a new session", set: one, want: true},
	}
	for kind, mk := range bases {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				s := &Session{base: mk(tt.base), clear: tt.clear, set: tt.set}
				for _, k := range tt.del {
					if s.del == nil {
						s.del = map[string]struct{}{}
					}
					s.del[k] = struct{}{}
				}
				if got := s.hasValues(); got != tt.want {
					t.Errorf("got %v, want %v", got, tt.want)
				}
				// The map the view builds agrees.
				s.own()
				if got := len(s.values) > 0; got != tt.want {
					t.Errorf("own built %v, which disagrees", s.values)
				}
			})
		}
	}
}

// A session reads the same values whether its store keeps flat records
// (read in place) or is read through Load (a map), through every change and
// across commits.
func TestViewsAgreeOnEveryKindOfStore(t *testing.T) {
	steps := []func(s *Session) any{
		func(s *Session) any { s.Put("a", 1); s.Put("b", "x"); s.Put("c", true); return nil },
		func(s *Session) any { return s.All() },
		func(s *Session) any { s.Forget("b"); s.Put("d", 4); return []any{s.Has("b"), s.Get("d"), s.Keys()} },
		func(s *Session) any { n, _ := s.Increment("a", 2); return []any{n, s.Size(), s.All()} },
		func(s *Session) any { return []any{s.All(), s.Pull("c"), s.Keys()} },
		func(s *Session) any { s.Clear(); s.Put("e", "y"); return []any{s.Has("a"), s.Keys()} },
		func(s *Session) any { return s.All() },
		func(s *Session) any { s.Push("list", 1); s.Push("list", 2); return s.Get("list") },
		func(s *Session) any { s.Forget("e", "list"); return []any{s.All(), s.Size()} },
		func(s *Session) any { return []any{s.All(), s.Keys(), s.Size()} },
	}
	run := func(st store.Store) []any {
		m, err := New(Config{Store: st, Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		var cookie *http.Cookie
		var out []any
		for _, step := range steps {
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				out = append(out, step(From(r)))
			}))
			req := httptest.NewRequest("GET", "https://example.com/", nil)
			if cookie != nil {
				req.AddCookie(cookie)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if c := w.Result().Cookies(); len(c) > 0 {
				cookie = c[0]
			}
		}
		return out
	}
	flatOut := run(memstore.New())
	if m, _ := New(Config{Store: memstore.New()}); m.flat == nil {
		t.Fatal("a memstore is not read in place")
	}
	mapOut := run(embedsMemstore{memstore.New()})
	for i := range steps {
		if !equalValues(flatOut[i], mapOut[i]) {
			t.Errorf("step %d: flat store %v, map store %v", i, flatOut[i], mapOut[i])
		}
	}
	if want := map[string]any{"e": "y"}; !maps.Equal(flatOut[6].(map[string]any), want) {
		t.Errorf("after Clear and Put: got %v, want %v", flatOut[6], want)
	}
}

// equalValues compares step results: nil, maps of decoded values, slices of
// them, and comparable values.
func equalValues(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		return ok && maps.EqualFunc(a, b, equalValues)
	case []any:
		b, ok := b.([]any)
		return ok && slices.EqualFunc(a, b, equalValues)
	case []string:
		b, ok := b.([]string)
		return ok && slices.Equal(a, b)
	}
	return a == b
}

// A commit to a local store needs no context of its own: it runs under the
// request's context, detached from its cancellation.
func TestACommitToALocalStoreOutlivesTheClient(t *testing.T) {
	m, err := New(Config{Store: memstore.New(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		From(r).Put("k", "v")
		cancel() // the client goes away before the commit
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/", nil).WithContext(ctx))
	if w.Code != http.StatusOK || len(w.Result().Cookies()) != 1 {
		t.Fatalf("got %d with cookies %v, want the session stored", w.Code, w.Result().Cookies())
	}
	if got := m.Store().(*memstore.Store).Stats().Records; got != 1 {
		t.Errorf("got %d records, want 1", got)
	}
	var d detachedContext
	if _, ok := d.Deadline(); ok || d.Done() != nil || d.Err() != nil {
		t.Error("a detached context has a deadline or can end")
	}
}
