package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

func (s *suite) roundTrip(t *testing.T) {
	t.Run("a created record loads back exactly", func(t *testing.T) {
		st := s.newStore(t)
		at := now()
		c := store.Change{
			Set:     vals("n", "42", "s", `"hello"`, "o", `{"a":[1,2,3],"b":{"c":null}}`, "t", `"2026-03-01T12:00:00.123456789Z"`),
			Now:     at,
			Expires: at.Add(time.Hour),
			SetUser: true, UserID: "user-" + NewID(), IP: "2001:db8::1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
		}
		key := create(t, st, c)
		got := load(t, st, key)
		checkValues(t, got.Values, c.Set)
		checkMeta(t, got, store.Record{Created: at, LastSeen: at, Expires: at.Add(time.Hour), UserID: c.UserID, IP: c.IP, UserAgent: c.UserAgent})
	})

	t.Run("a record without values loads back with none", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{})
		if got := load(t, st, key); len(got.Values) != 0 {
			t.Errorf("got values %s, want none", showValues(got.Values))
		}
	})

	t.Run("a missing key loads nothing and no error", func(t *testing.T) {
		st := s.newStore(t)
		rec, ok, err := st.Load(t.Context(), NewKey())
		if ok || err != nil {
			t.Errorf("got %v, %v (values %s), want false, nil", ok, err, showValues(rec.Values))
		}
	})

	t.Run("malformed keys are refused by every method", func(t *testing.T) {
		st := s.newStore(t)
		good := create(t, st, store.Change{Set: vals("a", "1")})
		for _, k := range malformedKeys() {
			t.Run(k.name, func(t *testing.T) {
				ctx := t.Context()
				_, ok, err := st.Load(ctx, k.key)
				check := func(method string, err error) {
					t.Helper()
					if !errors.Is(err, store.ErrMalformedKey) {
						t.Errorf("%s: got %v, want an error wrapping ErrMalformedKey", method, err)
					}
				}
				check("Load", err)
				if ok {
					t.Errorf("Load: got ok true, want false")
				}
				check("Apply (create)", st.Apply(ctx, k.key, store.Change{Create: true, Set: vals("a", "1"), Expires: time.Now().Add(time.Hour)}))
				check("Apply (update)", st.Apply(ctx, k.key, store.Change{Set: vals("a", "1")}))
				check("Delete", st.Delete(ctx, k.key))
				if r, ok := st.(store.Renamer); ok {
					check("Rename (old key)", r.Rename(ctx, k.key, NewKey(), store.Change{}))
					check("Rename (new key)", r.Rename(ctx, good, k.key, store.Change{}))
				}
				if l, ok := st.(store.Locker); ok {
					got, err := l.TryLock(ctx, k.key, "token", time.Minute)
					check("TryLock", err)
					if got {
						t.Errorf("TryLock: got the lock, want none")
					}
					check("Unlock", l.Unlock(ctx, k.key, "token"))
				}
				if tk, ok := st.(store.Taker); ok {
					v, got, err := tk.Take(ctx, k.key, "a", "")
					check("Take", err)
					if got {
						t.Errorf("Take: got %q, want nothing", v)
					}
				}
				if u, ok := st.(store.UserIndex); ok && k.key != "" { // "" there means "keep none"
					_, err := u.DeleteUserSessions(ctx, "user-"+NewID(), k.key)
					check("DeleteUserSessions (except)", err)
				}
			})
		}
		// The good record is untouched by all of that, including the renames.
		checkValues(t, load(t, st, good).Values, vals("a", "1"))
	})

	t.Run("values come back byte for byte", func(t *testing.T) {
		st := s.newStore(t)
		want := vals(
			"spaced", "{\"b\": 1,  \"a\": [1, 2 ],\n\t\"c\" : {}}",
			"surrounded", " \t1\n",
			"html", `"<script>alert('&amp;')</script>"`,
			"separators", "\"\u2028\u2029\"",
			"bignum", "123456789012345678901234567890",
			"fraction", "1.10",
			"exponent", "1E+2",
			"minuszero", "-0",
			"escapes", `"\u00e9\ud83d\ude00\/\"\\\n\u0000"`,
			"empty", `""`,
			"null", "null",
			"true", "true",
			"array", "[]",
			"object", "{}",
			"gziplike", "\"\x1f\x8b\"",
			"repeated", `"`+strings.Repeat("compressible ", 400)+`"`,
		)
		key := create(t, st, store.Change{Set: want})
		checkValues(t, load(t, st, key).Values, want)
		// And after an update that leaves them alone.
		if err := st.Apply(t.Context(), key, store.Change{Set: vals("other", "1")}); err != nil {
			t.Fatal(err)
		}
		want["other"] = []byte("1")
		checkValues(t, load(t, st, key).Values, want)
	})

	t.Run("unicode keys and values", func(t *testing.T) {
		st := s.newStore(t)
		want := vals(
			"🔑", `"😀👍🏽 family: 👨‍👩‍👧"`,
			"مفتاح", `"مرحبا بالعالم"`,
			"מפתח", `"שלום \u202e עולם"`,
			"ключ", `"значение"`,
			"キー", `"値"`,
			"e\u0301", `"combining"`,
			"nul\x00key", `"\u0000"`,
			`quote"and\backslash`, `"x"`,
			"", `"empty key"`,
			"<&>", `"html key"`,
		)
		key := create(t, st, store.Change{Set: want})
		checkValues(t, load(t, st, key).Values, want)
		if err := st.Apply(t.Context(), key, store.Change{Delete: []string{"🔑"}, Incr: map[string]int64{"数": 3}}); err != nil {
			t.Fatal(err)
		}
		delete(want, "🔑")
		want["数"] = []byte("3")
		checkValues(t, load(t, st, key).Values, want)
	})

	t.Run("a value of nearly 1 MB", func(t *testing.T) {
		st := s.newStore(t)
		n := 1_000_000
		if s.opts.MaxRecordSize > 0 && n > s.opts.MaxRecordSize-1024 {
			n = s.opts.MaxRecordSize - 1024
		}
		big := RandomJSON(n)
		key := create(t, st, store.Change{Set: map[string][]byte{"big": big, "small": []byte("1")}})
		want := map[string][]byte{"big": big, "small": []byte("1")}
		checkValues(t, load(t, st, key).Values, want)
		// A record close to the limit can still be changed.
		if err := st.Apply(t.Context(), key, store.Change{Incr: map[string]int64{"small": 1}}); err != nil {
			t.Fatalf("updating a large record: %v", err)
		}
		want["small"] = []byte("2")
		checkValues(t, load(t, st, key).Values, want)
	})

	t.Run("the store keeps no reference to the caller's memory", func(t *testing.T) {
		st := s.newStore(t)
		v := []byte(`"original"`)
		key := create(t, st, store.Change{Set: map[string][]byte{"a": v}})
		copy(v, `"mutated!"`)
		got := load(t, st, key)
		checkValues(t, got.Values, vals("a", `"original"`))
		copy(got.Values["a"], `"mutated!"`)
		got.Values["b"] = []byte("1")
		checkValues(t, load(t, st, key).Values, vals("a", `"original"`))

		set := map[string][]byte{"c": []byte(`"third"`)}
		if err := st.Apply(t.Context(), key, store.Change{Set: set}); err != nil {
			t.Fatal(err)
		}
		copy(set["c"], `"XXXXX"`)
		set["d"] = []byte("4")
		checkValues(t, load(t, st, key).Values, vals("a", `"original"`, "c", `"third"`))
	})
}

type namedKey struct{ name, key string }

func malformedKeys() []namedKey {
	good := NewKey()
	return []namedKey{
		{"the empty key", ""},
		{"a short key", good[:63]},
		{"a long key", good + "0"},
		{"upper-case hex", strings.ToUpper(good)},
		{"a path", "../../etc/passwd"},
		{"a path of 64 bytes", "../../../../../../../../../../../../../../../../../../etc/passwd0"},
		{"a NUL byte", good[:63] + "\x00"},
		{"a session ID instead of its hash", NewID()},
		{"1 KB", strings.Repeat("a", 1024)},
		{"non-hex letters", "g" + good[1:]},
		{"a slash", good[:31] + "/" + good[32:]},
	}
}

func (s *suite) change(t *testing.T) {
	tests := []struct {
		name   string
		before map[string][]byte
		c      store.Change
		want   map[string][]byte
	}{
		{
			name:   "set adds and replaces keys",
			before: vals("a", "1", "b", "2"),
			c:      store.Change{Set: vals("b", "20", "c", "30")},
			want:   vals("a", "1", "b", "20", "c", "30"),
		},
		{
			name:   "delete removes keys and ignores missing ones",
			before: vals("a", "1", "b", "2"),
			c:      store.Change{Delete: []string{"a", "missing"}},
			want:   vals("b", "2"),
		},
		{
			name:   "clear removes every value",
			before: vals("a", "1", "b", "2"),
			c:      store.Change{Clear: true},
			want:   vals(),
		},
		{
			name:   "clear and set in one change keeps only the new keys",
			before: vals("a", "1", "b", "2"),
			c:      store.Change{Clear: true, Set: vals("b", "3", "c", "4")},
			want:   vals("b", "3", "c", "4"),
		},
		{
			name:   "delete and set of one key sets it",
			before: vals("a", "1"),
			c:      store.Change{Delete: []string{"a"}, Set: vals("a", "5")},
			want:   vals("a", "5"),
		},
		{
			name:   "increment adds to an integer",
			before: vals("n", "41"),
			c:      store.Change{Incr: map[string]int64{"n": 1}},
			want:   vals("n", "42"),
		},
		{
			name:   "increment of a missing key starts at zero",
			before: vals("a", "1"),
			c:      store.Change{Incr: map[string]int64{"n": 5}},
			want:   vals("a", "1", "n", "5"),
		},
		{
			name:   "a negative increment subtracts and may go below zero",
			before: vals("n", "3"),
			c:      store.Change{Incr: map[string]int64{"n": -5}},
			want:   vals("n", "-2"),
		},
		{
			name:   "increment of a negative number",
			before: vals("n", "-7"),
			c:      store.Change{Incr: map[string]int64{"n": 7}},
			want:   vals("n", "0"),
		},
		{
			name:   "increment by zero writes the integer",
			before: vals("n", "9"),
			c:      store.Change{Incr: map[string]int64{"n": 0, "m": 0}},
			want:   vals("n", "9", "m", "0"),
		},
		{
			name:   "increments reach the int64 limits",
			before: vals("max", "9223372036854775806", "min", "-9223372036854775807"),
			c:      store.Change{Incr: map[string]int64{"max": 1, "min": -1}},
			want:   vals("max", "9223372036854775807", "min", "-9223372036854775808"),
		},
		{
			name:   "a key in both Set and Incr is set, then incremented",
			before: vals("n", "100"),
			c:      store.Change{Set: vals("n", "10"), Incr: map[string]int64{"n": 5}},
			want:   vals("n", "15"),
		},
		{
			name:   "clear, then increment starts at zero",
			before: vals("n", "100"),
			c:      store.Change{Clear: true, Incr: map[string]int64{"n": 1}},
			want:   vals("n", "1"),
		},
		{
			name:   "delete, then increment starts at zero",
			before: vals("n", "100"),
			c:      store.Change{Delete: []string{"n"}, Incr: map[string]int64{"n": 2}},
			want:   vals("n", "2"),
		},
		{
			name:   "everything at once",
			before: vals("a", "1", "b", "2", "n", "1"),
			c:      store.Change{Delete: []string{"a"}, Set: vals("c", `"x"`), Incr: map[string]int64{"n": 1, "m": -1}},
			want:   vals("b", "2", "c", `"x"`, "n", "2", "m", "-1"),
		},
		{
			name:   "an empty change keeps the values",
			before: vals("a", "1"),
			c:      store.Change{},
			want:   vals("a", "1"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := s.newStore(t)
			key := create(t, st, store.Change{Set: tt.before})
			if err := st.Apply(t.Context(), key, tt.c); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			checkValues(t, load(t, st, key).Values, tt.want)
		})
	}

	t.Run("a create applies its increments too", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("a", "1"), Incr: map[string]int64{"n": 3, "a": 1}})
		checkValues(t, load(t, st, key).Values, vals("a", "2", "n", "3"))
	})

	notNumbers := []struct{ name, value string }{
		{"a JSON string", `"5"`},
		{"a fraction", "1.5"},
		{"an exponent", "1e3"},
		{"an object", `{"n":1}`},
		{"null", "null"},
		{"a boolean", "true"},
		{"a number outside int64", "99999999999999999999"},
	}
	for _, nn := range notNumbers {
		t.Run("incrementing "+nn.name+" fails the whole change", func(t *testing.T) {
			st := s.newStore(t)
			userID := "user-" + NewID()
			exp := time.Now().Add(time.Hour).Truncate(ms)
			key := create(t, st, store.Change{Set: vals("x", nn.value, "a", "1", "n", "1"), Expires: exp,
				SetUser: true, UserID: userID})
			before := load(t, st, key)
			err := st.Apply(t.Context(), key, store.Change{
				Delete:  []string{"a"},
				Set:     vals("b", "2"),
				Incr:    map[string]int64{"n": 1, "x": 1},
				Expires: exp.Add(time.Hour),
				SetUser: true, UserID: "someone else",
			})
			if !errors.Is(err, store.ErrNotNumber) {
				t.Fatalf("got %v, want an error wrapping ErrNotNumber", err)
			}
			got := load(t, st, key)
			checkValues(t, got.Values, vals("x", nn.value, "a", "1", "n", "1"))
			checkMeta(t, got, before)
		})
	}

	t.Run("an increment past the int64 range fails the whole change", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("n", "9223372036854775807", "a", "1")})
		err := st.Apply(t.Context(), key, store.Change{Set: vals("a", "2"), Incr: map[string]int64{"n": 1}})
		if !errors.Is(err, store.ErrNotNumber) {
			t.Fatalf("got %v, want an error wrapping ErrNotNumber", err)
		}
		checkValues(t, load(t, st, key).Values, vals("n", "9223372036854775807", "a", "1"))
	})

	t.Run("a touch replaces Expires and keeps the values", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("a", "1"), Expires: now().Add(time.Hour)})
		later := now().Add(3 * time.Hour)
		if err := st.Apply(t.Context(), key, store.Change{Expires: later}); err != nil {
			t.Fatal(err)
		}
		got := load(t, st, key)
		checkTime(t, "Expires", got.Expires, later)
		checkValues(t, got.Values, vals("a", "1"))
		// A touch may also shorten the life of a record.
		sooner := now().Add(time.Minute)
		if err := st.Apply(t.Context(), key, store.Change{Expires: sooner}); err != nil {
			t.Fatal(err)
		}
		checkTime(t, "Expires", load(t, st, key).Expires, sooner)
	})

	t.Run("a change without Expires keeps it", func(t *testing.T) {
		st := s.newStore(t)
		exp := now().Add(2 * time.Hour)
		key := create(t, st, store.Change{Expires: exp})
		if err := st.Apply(t.Context(), key, store.Change{Set: vals("a", "1")}); err != nil {
			t.Fatal(err)
		}
		checkTime(t, "Expires", load(t, st, key).Expires, exp)
	})

	t.Run("SetUser replaces the user, IP and user agent", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{SetUser: true, UserID: "", IP: "192.0.2.1", UserAgent: "curl/8"})
		u := "user-" + NewID()
		if err := st.Apply(t.Context(), key, store.Change{SetUser: true, UserID: u, IP: "198.51.100.7", UserAgent: "Firefox"}); err != nil {
			t.Fatal(err)
		}
		got := load(t, st, key)
		if got.UserID != u || got.IP != "198.51.100.7" || got.UserAgent != "Firefox" {
			t.Errorf("got %q, %q, %q, want %q, %q, %q", got.UserID, got.IP, got.UserAgent, u, "198.51.100.7", "Firefox")
		}
		// Without SetUser, a change leaves them alone.
		if err := st.Apply(t.Context(), key, store.Change{UserID: "ignored", IP: "ignored"}); err != nil {
			t.Fatal(err)
		}
		if got := load(t, st, key); got.UserID != u || got.IP != "198.51.100.7" {
			t.Errorf("without SetUser: got %q, %q, want %q, %q", got.UserID, got.IP, u, "198.51.100.7")
		}
		// An empty UserID detaches the session.
		if err := st.Apply(t.Context(), key, store.Change{SetUser: true}); err != nil {
			t.Fatal(err)
		}
		if got := load(t, st, key); got.UserID != "" || got.IP != "" || got.UserAgent != "" {
			t.Errorf("after detaching: got %q, %q, %q, want empty strings", got.UserID, got.IP, got.UserAgent)
		}
	})

	t.Run("Created is kept and LastSeen follows Change.Now", func(t *testing.T) {
		st := s.newStore(t)
		t0 := now().Add(-time.Minute)
		key := create(t, st, store.Change{Now: t0, Expires: t0.Add(time.Hour)})
		t1 := t0.Add(10 * time.Second)
		if err := st.Apply(t.Context(), key, store.Change{Now: t1, Set: vals("a", "1")}); err != nil {
			t.Fatal(err)
		}
		got := load(t, st, key)
		checkTime(t, "Created", got.Created, t0)
		checkTime(t, "LastSeen", got.LastSeen, t1)
	})

	t.Run("a create with Created keeps it; an update ignores it", func(t *testing.T) {
		st := s.newStore(t)
		born := now().Add(-3 * time.Hour)
		t0 := now()
		key := create(t, st, store.Change{Now: t0, Created: born, Expires: t0.Add(time.Hour)})
		checkTime(t, "Created", load(t, st, key).Created, born)
		if err := st.Apply(t.Context(), key, store.Change{Now: t0, Created: t0, Set: vals("a", "1")}); err != nil {
			t.Fatal(err)
		}
		checkTime(t, "Created after an update", load(t, st, key).Created, born)
	})

	t.Run("a change without Now uses the store's clock", func(t *testing.T) {
		st := s.newStore(t)
		const slack = 5 * time.Second // for a server whose clock differs a little
		before := time.Now()
		key := create(t, st, store.Change{})
		got := load(t, st, key)
		after := time.Now()
		for _, tm := range []struct {
			what string
			t    time.Time
		}{{"Created", got.Created}, {"LastSeen", got.LastSeen}} {
			if tm.t.Before(before.Add(-slack)) || tm.t.After(after.Add(slack)) {
				t.Errorf("got %s %v, want between %v and %v", tm.what, tm.t, before, after)
			}
		}
	})
}

func (s *suite) createAndUpdate(t *testing.T) {
	t.Run("a create over a live record is refused and changes nothing", func(t *testing.T) {
		st := s.newStore(t)
		at := now().Add(-time.Minute)
		key := create(t, st, store.Change{Set: vals("a", "1"), Now: at})
		before := load(t, st, key)
		err := st.Apply(t.Context(), key, store.Change{Create: true, Set: vals("b", "2"), Expires: time.Now().Add(time.Hour)})
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("got %v, want an error wrapping ErrExists", err)
		}
		got := load(t, st, key)
		checkValues(t, got.Values, vals("a", "1"))
		checkMeta(t, got, before)
	})

	t.Run("an update without a record is not found and stores nothing", func(t *testing.T) {
		st := s.newStore(t)
		key := NewKey()
		err := st.Apply(t.Context(), key, store.Change{Set: vals("a", "1"), Expires: time.Now().Add(time.Hour)})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("got %v, want an error wrapping ErrNotFound", err)
		}
		mustBeGone(t, st, key)
		if err := st.Apply(t.Context(), key, store.Change{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an empty change: got %v, want an error wrapping ErrNotFound", err)
		}
		mustBeGone(t, st, key)
	})

	t.Run("a create over an expired record starts afresh", func(t *testing.T) {
		st := s.newStore(t)
		u := "user-" + NewID()
		key := create(t, st, store.Change{Set: vals("old", "1"), Expires: time.Now().Add(-time.Minute), SetUser: true, UserID: u})
		at := now()
		err := st.Apply(t.Context(), key, store.Change{Create: true, Set: vals("new", "2"), Now: at, Expires: at.Add(time.Hour)})
		if err != nil {
			t.Fatalf("got %v, want the record created", err)
		}
		got := load(t, st, key)
		checkValues(t, got.Values, vals("new", "2"))
		checkMeta(t, got, store.Record{Created: at, LastSeen: at, Expires: at.Add(time.Hour)})
	})

	t.Run("a second create of a new key gets ErrExists", func(t *testing.T) {
		st := s.newStore(t)
		key := NewKey()
		c := store.Change{Create: true, Set: vals("a", "1"), Expires: time.Now().Add(time.Hour)}
		if err := st.Apply(t.Context(), key, c); err != nil {
			t.Fatal(err)
		}
		c.Set = vals("a", "2")
		if err := st.Apply(t.Context(), key, c); !errors.Is(err, store.ErrExists) {
			t.Fatalf("got %v, want an error wrapping ErrExists", err)
		}
		checkValues(t, load(t, st, key).Values, vals("a", "1"))
	})

	t.Run("concurrent creates of one key: exactly one wins", func(t *testing.T) {
		st := s.newStore(t)
		key := NewKey()
		const n = 20
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs <- st.Apply(t.Context(), key, store.Change{Create: true, Set: vals("winner", fmt.Sprint(i)), Expires: time.Now().Add(time.Hour)})
			})
		}
		wg.Wait()
		close(errs)
		wins := 0
		for err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrExists):
				t.Errorf("got %v, want nil or an error wrapping ErrExists", err)
			}
		}
		if wins != 1 {
			t.Errorf("got %d successful creates, want 1", wins)
		}
	})
}

func (s *suite) concurrency(t *testing.T) {
	const n = 100
	run := func(t *testing.T, f func(i int) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				if err := f(i); err != nil {
					errs <- fmt.Errorf("writer %d: %w", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}

	t.Run("100 writers of distinct keys on one session all survive", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("base", "0")})
		run(t, func(i int) error {
			return st.Apply(t.Context(), key, store.Change{Set: vals(fmt.Sprintf("k%03d", i), fmt.Sprint(i))})
		})
		want := vals("base", "0")
		for i := range n {
			want[fmt.Sprintf("k%03d", i)] = []byte(fmt.Sprint(i))
		}
		checkValues(t, load(t, st, key).Values, want)
	})

	t.Run("100 concurrent increments add exactly 100", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{})
		run(t, func(int) error {
			return st.Apply(t.Context(), key, store.Change{Incr: map[string]int64{"n": 1}})
		})
		checkValues(t, load(t, st, key).Values, vals("n", "100"))
	})

	t.Run("writers, deleters and incrementers mixed", func(t *testing.T) {
		st := s.newStore(t)
		initial := vals("n", "0")
		for i := range n {
			initial[fmt.Sprintf("gone%03d", i)] = []byte("1")
		}
		key := create(t, st, store.Change{Set: initial})
		run(t, func(i int) error {
			return st.Apply(t.Context(), key, store.Change{
				Delete: []string{fmt.Sprintf("gone%03d", i)},
				Set:    vals(fmt.Sprintf("k%03d", i), `"v"`),
				Incr:   map[string]int64{"n": 2, "m": -1},
			})
		})
		want := vals("n", "200", "m", "-100")
		for i := range n {
			want[fmt.Sprintf("k%03d", i)] = []byte(`"v"`)
		}
		checkValues(t, load(t, st, key).Values, want)
	})
}

func (s *suite) delete(t *testing.T) {
	t.Run("a deleted record loads nothing", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("a", "1")})
		if err := st.Delete(t.Context(), key); err != nil {
			t.Fatal(err)
		}
		mustBeGone(t, st, key)
	})

	t.Run("a change after delete does not resurrect the record", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("a", "1"), SetUser: true, UserID: "user-" + NewID()})
		if err := st.Delete(t.Context(), key); err != nil {
			t.Fatal(err)
		}
		changes := []store.Change{
			{Set: vals("a", "2")},
			{Incr: map[string]int64{"n": 1}},
			{Expires: time.Now().Add(time.Hour)},
			{SetUser: true, UserID: "user-" + NewID()},
			{},
		}
		for _, c := range changes {
			if err := st.Apply(t.Context(), key, c); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Apply(%+v): got %v, want an error wrapping ErrNotFound", c, err)
			}
		}
		mustBeGone(t, st, key)
	})

	t.Run("deleting a missing record is not an error", func(t *testing.T) {
		st := s.newStore(t)
		if err := st.Delete(t.Context(), NewKey()); err != nil {
			t.Errorf("got %v, want nil", err)
		}
		key := create(t, st, store.Change{})
		for i := range 2 {
			if err := st.Delete(t.Context(), key); err != nil {
				t.Errorf("delete %d: got %v, want nil", i+1, err)
			}
		}
	})

	t.Run("a key can be created again after delete", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("a", "1")})
		if err := st.Delete(t.Context(), key); err != nil {
			t.Fatal(err)
		}
		if err := st.Apply(t.Context(), key, store.Change{Create: true, Set: vals("b", "2"), Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		checkValues(t, load(t, st, key).Values, vals("b", "2"))
	})

	t.Run("delete leaves other records alone", func(t *testing.T) {
		st := s.newStore(t)
		a := create(t, st, store.Change{Set: vals("a", "1")})
		b := create(t, st, store.Change{Set: vals("b", "1")})
		if err := st.Delete(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		checkValues(t, load(t, st, b).Values, vals("b", "1"))
	})
}

func (s *suite) expiry(t *testing.T) {
	t.Run("a record created already expired is never returned", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("a", "1"), Expires: time.Now().Add(-time.Second)})
		mustBeGone(t, st, key)
		if err := st.Apply(t.Context(), key, store.Change{Set: vals("b", "2")}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Apply: got %v, want an error wrapping ErrNotFound", err)
		}
		mustBeGone(t, st, key)
	})

	t.Run("a record touched into the past disappears", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("a", "1")})
		if err := st.Apply(t.Context(), key, store.Change{Expires: time.Now().Add(-time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		mustBeGone(t, st, key)
		if err := st.Apply(t.Context(), key, store.Change{Expires: time.Now().Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a touch of the expired record: got %v, want an error wrapping ErrNotFound", err)
		}
		mustBeGone(t, st, key)
	})

	t.Run("a change whose clock lags cannot revive an expired record", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("a", "1"), Expires: time.Now().Add(-time.Minute)})
		past := time.Now().Add(-time.Hour)
		err := st.Apply(t.Context(), key, store.Change{Now: past, Set: vals("b", "1"), Expires: time.Now().Add(time.Hour)})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("got %v, want an error wrapping ErrNotFound", err)
		}
		mustBeGone(t, st, key)
	})

	t.Run("a change whose clock runs ahead cannot replace a live record", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("a", "1"), Expires: time.Now().Add(time.Hour)})
		future := time.Now().Add(48 * time.Hour)
		err := st.Apply(t.Context(), key, store.Change{Create: true, Now: future, Set: vals("b", "1"), Expires: future.Add(time.Hour)})
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("got %v, want an error wrapping ErrExists", err)
		}
		checkValues(t, load(t, st, key).Values, vals("a", "1"))
	})

	t.Run("other records live on", func(t *testing.T) {
		st := s.newStore(t)
		create(t, st, store.Change{Expires: time.Now().Add(-time.Minute)})
		live := create(t, st, store.Change{Set: vals("a", "1")})
		checkValues(t, load(t, st, live).Values, vals("a", "1"))
	})
}

func (s *suite) sizeLimit(t *testing.T) {
	if s.opts.MaxRecordSize < 0 {
		t.Skip("the store declares no size limit")
	}
	max := s.opts.MaxRecordSize
	t.Run("a change over the limit is refused and the old record kept", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("a", "1")})
		before := load(t, st, key)
		err := st.Apply(t.Context(), key, store.Change{Set: map[string][]byte{"big": RandomJSON(max)}, Expires: time.Now().Add(2 * time.Hour)})
		if !errors.Is(err, store.ErrTooLarge) {
			t.Fatalf("got %v, want an error wrapping ErrTooLarge", err)
		}
		got := load(t, st, key)
		checkValues(t, got.Values, vals("a", "1"))
		checkMeta(t, got, before)
	})

	t.Run("values that add up past the limit are refused", func(t *testing.T) {
		st := s.newStore(t)
		half := max/2 + 1
		key := create(t, st, store.Change{Set: map[string][]byte{"a": RandomJSON(half)}})
		err := st.Apply(t.Context(), key, store.Change{Set: map[string][]byte{"b": RandomJSON(half)}})
		if !errors.Is(err, store.ErrTooLarge) {
			t.Fatalf("got %v, want an error wrapping ErrTooLarge", err)
		}
		if got := load(t, st, key); len(got.Values) != 1 {
			t.Errorf("got %d values, want 1", len(got.Values))
		}
	})

	t.Run("a compressible value counts at its full size", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("a", "1")})
		big := []byte(`"` + strings.Repeat("a", max) + `"`)
		if err := st.Apply(t.Context(), key, store.Change{Set: map[string][]byte{"big": big}}); !errors.Is(err, store.ErrTooLarge) {
			t.Fatalf("got %v, want an error wrapping ErrTooLarge", err)
		}
	})

	t.Run("a create over the limit stores nothing", func(t *testing.T) {
		st := s.newStore(t)
		key := NewKey()
		err := st.Apply(t.Context(), key, store.Change{Create: true, Set: map[string][]byte{"big": RandomJSON(max)}, Expires: time.Now().Add(time.Hour)})
		if !errors.Is(err, store.ErrTooLarge) {
			t.Fatalf("got %v, want an error wrapping ErrTooLarge", err)
		}
		mustBeGone(t, st, key)
	})

	t.Run("the limit applies to the result, not to old plus new", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: map[string][]byte{"a": RandomJSON(max - 1024)}})
		// Clear then set: the result is small even though the old record is large.
		if err := st.Apply(t.Context(), key, store.Change{Clear: true, Set: map[string][]byte{"b": RandomJSON(max - 1024)}}); err != nil {
			t.Fatalf("got %v, want the change applied", err)
		}
	})
}

func (s *suite) context(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	ctxs := []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"a cancelled context", cancelled, context.Canceled},
		{"a context past its deadline", expired, context.DeadlineExceeded},
	}
	const prompt = 5 * time.Second
	for _, cc := range ctxs {
		t.Run(cc.name+" fails promptly and changes nothing", func(t *testing.T) {
			st := s.newStore(t)
			key := create(t, st, store.Change{Set: vals("a", "1")})
			check := func(method string, f func() error) {
				t.Helper()
				start := time.Now()
				err := f()
				if d := time.Since(start); d > prompt {
					t.Errorf("%s: took %v, want under %v", method, d, prompt)
				}
				if !errors.Is(err, cc.want) {
					t.Errorf("%s: got %v, want an error wrapping %v", method, err, cc.want)
				}
			}
			check("Load", func() error {
				_, ok, err := st.Load(cc.ctx, key)
				if ok {
					t.Errorf("Load: got ok true, want false")
				}
				return err
			})
			check("Apply (update)", func() error { return st.Apply(cc.ctx, key, store.Change{Set: vals("a", "2")}) })
			other := NewKey()
			check("Apply (create)", func() error {
				return st.Apply(cc.ctx, other, store.Change{Create: true, Expires: time.Now().Add(time.Hour)})
			})
			check("Delete", func() error { return st.Delete(cc.ctx, key) })
			if r, ok := st.(store.Renamer); ok {
				check("Rename", func() error { return r.Rename(cc.ctx, key, NewKey(), store.Change{}) })
			}
			if l, ok := st.(store.Lister); ok {
				check("List", func() error { return l.List(cc.ctx, func(store.Entry) error { return nil }) })
			}
			if u, ok := st.(store.UserIndex); ok {
				check("UserSessions", func() error { _, err := u.UserSessions(cc.ctx, "user-"+NewID()); return err })
				check("DeleteUserSessions", func() error { _, err := u.DeleteUserSessions(cc.ctx, "user-"+NewID(), ""); return err })
			}
			if l, ok := st.(store.Locker); ok {
				lk := NewKey()
				check("TryLock", func() error { _, err := l.TryLock(cc.ctx, lk, "token", time.Minute); return err })
				if got, err := l.TryLock(t.Context(), lk, "other", time.Minute); err != nil || !got {
					t.Errorf("TryLock after a failed TryLock: got %v, %v, want the lock", got, err)
				}
			}
			if tk, ok := st.(store.Taker); ok {
				check("Take", func() error { _, _, err := tk.Take(cc.ctx, key, "a", ""); return err })
			}
			if p, ok := st.(store.Pruner); ok && !s.opts.NativeExpiry {
				check("Prune", func() error { _, err := p.Prune(cc.ctx); return err })
			}
			checkValues(t, load(t, st, key).Values, vals("a", "1"))
			mustBeGone(t, st, other)
		})
	}
}
