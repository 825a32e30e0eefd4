package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

// push checks Change.Push: appending to JSON arrays atomically.
func (s *suite) push(t *testing.T) {
	t.Run("Push appends to a missing key, an array, and after Set", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("list", `[1,"two"]`, "other", `"x"`)})
		c := store.Change{
			Set: vals("fresh", `[]`),
			Push: map[string]store.Append{
				"list":    {Values: [][]byte{[]byte(`{"n":3}`), []byte(`[4]`)}},
				"missing": {Values: [][]byte{[]byte(`"a"`)}},
				"fresh":   {Values: [][]byte{[]byte(`true`)}},
			},
		}
		if err := st.Apply(t.Context(), key, c); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		checkValues(t, load(t, st, key).Values, vals(
			"list", `[1,"two",{"n":3},[4]]`, "missing", `["a"]`, "fresh", `[true]`, "other", `"x"`))
	})

	t.Run("Push on create starts the array", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Push: map[string]store.Append{"l": {Values: [][]byte{[]byte(`1`)}}}})
		checkValues(t, load(t, st, key).Values, vals("l", `[1]`))
	})

	t.Run("Keep keeps only the last elements", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("log", `[1,2,3,4]`)})
		push := func(keep int, v ...string) {
			t.Helper()
			var elems [][]byte
			for _, e := range v {
				elems = append(elems, []byte(e))
			}
			if err := st.Apply(t.Context(), key, store.Change{Push: map[string]store.Append{"log": {Values: elems, Keep: keep}}}); err != nil {
				t.Fatalf("Apply: %v", err)
			}
		}
		push(3, `5`)
		checkValues(t, load(t, st, key).Values, vals("log", `[3,4,5]`))
		push(2, `6`, `7`, `8`)
		checkValues(t, load(t, st, key).Values, vals("log", `[7,8]`))
		push(0, `"9"`)
		checkValues(t, load(t, st, key).Values, vals("log", `[7,8,"9"]`))
	})

	t.Run("Push onto a value that is not an array applies nothing", func(t *testing.T) {
		st := s.newStore(t)
		for _, v := range []string{`1`, `"[1]"`, `{"a":[1]}`, `null`, `true`} {
			key := create(t, st, store.Change{Set: vals("v", v, "n", "1")})
			err := st.Apply(t.Context(), key, store.Change{
				Set:  vals("set", `1`),
				Incr: map[string]int64{"n": 1},
				Push: map[string]store.Append{"v": {Values: [][]byte{[]byte(`2`)}}},
			})
			if !errors.Is(err, store.ErrNotList) {
				t.Errorf("push onto %s: got error %v, want ErrNotList", v, err)
			}
			if err != nil && !strings.Contains(err.Error(), `"v"`) {
				t.Errorf("push onto %s: the error %q does not name the key", v, err)
			}
			checkValues(t, load(t, st, key).Values, vals("v", v, "n", "1"))
		}
	})

	t.Run("Push onto a large array keeps every element", func(t *testing.T) {
		st := s.newStore(t)
		var elems []string
		for i := range 200 {
			elems = append(elems, fmt.Sprintf(`{"page":"/products/%03d","at":%d}`, i, 1700000000+i))
		}
		key := create(t, st, store.Change{Set: vals("log", "["+strings.Join(elems, ",")+"]")})
		next := `{"page":"/cart","at":1}`
		if err := st.Apply(t.Context(), key, store.Change{Push: map[string]store.Append{"log": {Values: [][]byte{[]byte(next)}, Keep: 150}}}); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		want := "[" + strings.Join(append(elems[51:], next), ",") + "]"
		checkValues(t, load(t, st, key).Values, vals("log", want))
	})

	t.Run("50 concurrent pushes leave 50 elements", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("a", "1")})
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				c := store.Change{ID: store.NewChangeID(), Push: map[string]store.Append{"log": {Values: [][]byte{fmt.Appendf(nil, "%d", i)}}}}
				if err := st.Apply(t.Context(), key, c); err != nil {
					t.Errorf("Apply %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		got := load(t, st, key).Values["log"]
		ints := parseInts(t, got)
		seen := map[int]bool{}
		for _, n := range ints {
			seen[n] = true
		}
		if len(ints) != 50 || len(seen) != 50 {
			t.Errorf("got %d elements (%d distinct), want 50: %s", len(ints), len(seen), got)
		}
	})
}

// invalidInput checks that input no store accepts is refused as the caller's
// mistake (store.ErrInvalid), never as a failure of the store.
func (s *suite) invalidInput(t *testing.T) {
	st := s.newStore(t)
	key := create(t, st, store.Change{Set: vals("a", "1")})
	long := strings.Repeat("u", store.MaxUserIDLen+1)
	for name, c := range map[string]store.Change{
		"a key that is not UTF-8":       {Set: vals("k\xff", "1")},
		"a key over the limit":          {Set: vals(strings.Repeat("k", store.MaxFieldLen+1), "1")},
		"a deleted key that is invalid": {Delete: []string{"\xfe"}},
		"an incremented key":            {Incr: map[string]int64{"\xff": 1}},
		"a pushed key":                  {Push: map[string]store.Append{"\xff": {Values: [][]byte{[]byte("1")}}}},
		"a user ID over the limit":      {SetUser: true, UserID: long},
		"a user ID with NUL":            {SetUser: true, UserID: "a\x00b"},
		"a user ID that is not UTF-8":   {SetUser: true, UserID: "\xff\xfe"},
	} {
		c.Set = mergeVals(c.Set, vals("b", "2"))
		err := st.Apply(t.Context(), key, c)
		if !errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s: got error %v, want ErrInvalid (and not ErrUnavailable)", name, err)
		}
		c.Create = true
		if err := st.Apply(t.Context(), NewKey(), c); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s on create: got error %v, want ErrInvalid", name, err)
		}
	}
	checkValues(t, load(t, st, key).Values, vals("a", "1"))
	valid := store.Change{Set: vals("ключ 🔑", `"ok"`, strings.Repeat("k", store.MaxFieldLen), "1"),
		SetUser: true, UserID: strings.Repeat("ü", store.MaxUserIDLen/2)}
	if err := st.Apply(t.Context(), key, valid); err != nil {
		t.Fatalf("a change at the limits: %v", err)
	}
	if got := load(t, st, key); got.UserID != valid.UserID || !bytes.Equal(got.Values["ключ 🔑"], []byte(`"ok"`)) {
		t.Errorf("got user %q and values %s after a change at the limits", got.UserID, showValues(got.Values))
	}
}

func mergeVals(a, b map[string][]byte) map[string][]byte {
	out := vals()
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// changeID checks that a store recognises a change that arrives twice
// (Options.IdempotentChanges): the repeat answers as the original did and
// changes nothing.
func (s *suite) changeID(t *testing.T) {
	if !s.opts.IdempotentChanges {
		t.Skip("the store does not declare IdempotentChanges")
	}
	t.Run("an update applied twice counts once", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("n", "0")})
		c := store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"n": 1},
			Push: map[string]store.Append{"l": {Values: [][]byte{[]byte("1")}}}}
		for i := range 3 {
			if err := st.Apply(t.Context(), key, c); err != nil {
				t.Fatalf("Apply %d: %v", i+1, err)
			}
		}
		checkValues(t, load(t, st, key).Values, vals("n", "1", "l", "[1]"))
		c.ID = store.NewChangeID()
		if err := st.Apply(t.Context(), key, c); err != nil {
			t.Fatal(err)
		}
		checkValues(t, load(t, st, key).Values, vals("n", "2", "l", "[1,1]"))
	})

	t.Run("a create applied twice succeeds twice", func(t *testing.T) {
		st := s.newStore(t)
		key := NewKey()
		c := store.Change{ID: store.NewChangeID(), Create: true, Set: vals("a", "1"), Expires: time.Now().Add(time.Hour)}
		for i := range 2 {
			if err := st.Apply(t.Context(), key, c); err != nil {
				t.Fatalf("create %d: %v", i+1, err)
			}
		}
		c.ID = store.NewChangeID()
		if err := st.Apply(t.Context(), key, c); !errors.Is(err, store.ErrExists) {
			t.Errorf("another create: got %v, want ErrExists", err)
		}
	})

	t.Run("a change that failed is not remembered as applied", func(t *testing.T) {
		st := s.newStore(t)
		key := create(t, st, store.Change{Set: vals("n", `"text"`)})
		c := store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"n": 1}}
		for i := range 2 {
			if err := st.Apply(t.Context(), key, c); !errors.Is(err, store.ErrNotNumber) {
				t.Errorf("Apply %d: got %v, want ErrNotNumber", i+1, err)
			}
		}
	})

	t.Run("a rename applied twice succeeds twice", func(t *testing.T) {
		st := s.newStore(t)
		rn, ok := st.(store.Renamer)
		if !ok {
			t.Skip("not a Renamer")
		}
		oldKey := create(t, st, store.Change{Set: vals("n", "1")})
		newKey := NewKey()
		c := store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"n": 1}}
		for i := range 2 {
			if err := rn.Rename(t.Context(), oldKey, newKey, c); err != nil {
				t.Fatalf("Rename %d: %v", i+1, err)
			}
		}
		mustBeGone(t, st, oldKey)
		checkValues(t, load(t, st, newKey).Values, vals("n", "2"))
	})

	t.Run("a take repeated returns the same value", func(t *testing.T) {
		st := s.newStore(t)
		tk, ok := st.(store.Taker)
		if !ok {
			t.Skip("not a Taker")
		}
		key := create(t, st, store.Change{Set: vals("f", `"flash"`, "a", "1")})
		id := store.NewChangeID()
		for i := range 2 {
			v, ok, err := tk.Take(t.Context(), key, "f", id)
			if err != nil || !ok || string(v) != `"flash"` {
				t.Errorf("Take %d: got %q, %v, %v, want the value", i+1, v, ok, err)
			}
		}
		if v, ok, err := tk.Take(t.Context(), key, "f", store.NewChangeID()); ok || err != nil {
			t.Errorf("another take: got %q, %v, %v, want nothing", v, ok, err)
		}
	})
}

// lockerRetry checks that TryLock under the token that holds the lock
// succeeds: a retried TryLock does not lock out its own caller.
func (s *suite) lockerRetry(t *testing.T) {
	st := s.newStore(t)
	lk, ok := st.(store.Locker)
	if !ok {
		t.Skip("not a Locker")
	}
	key := NewKey()
	token := NewID()
	for i := range 2 {
		got, err := lk.TryLock(t.Context(), key, token, time.Minute)
		if err != nil || !got {
			t.Fatalf("TryLock %d under the same token: got %v, %v, want true", i+1, got, err)
		}
	}
	if got, err := lk.TryLock(t.Context(), key, NewID(), time.Minute); got || err != nil {
		t.Errorf("TryLock under another token: got %v, %v, want false", got, err)
	}
	if err := lk.Unlock(t.Context(), key, token); err != nil {
		t.Fatal(err)
	}
}

// tombstone checks store.GoneField: a tombstone loads, but updates and
// renames treat it as missing.
func (s *suite) tombstone(t *testing.T) {
	st := s.newStore(t)
	key := create(t, st, store.Change{Set: vals("cart", "3", "n", "1"), SetUser: true, UserID: NewID()})
	end := store.Change{ID: store.NewChangeID(), Clear: true, Set: vals(store.GoneField, "true"), SetUser: true,
		Expires: time.Now().Add(time.Minute)}
	if err := st.Apply(t.Context(), key, end); err != nil {
		t.Fatalf("turning the record into a tombstone: %v", err)
	}
	rec := load(t, st, key)
	checkValues(t, rec.Values, vals(store.GoneField, "true"))
	if rec.UserID != "" {
		t.Errorf("the tombstone keeps user %q", rec.UserID)
	}
	for name, c := range map[string]store.Change{
		"a set":                 {Set: vals("late", "1")},
		"an increment":          {Incr: map[string]int64{"n": 1}},
		"a push":                {Push: map[string]store.Append{"l": {Values: [][]byte{[]byte("1")}}}},
		"a touch":               {Expires: time.Now().Add(time.Hour)},
		"another tombstone":     end,
		"a change with its own": {ID: store.NewChangeID(), Set: vals("x", "1")},
	} {
		if name == "another tombstone" {
			c.ID = store.NewChangeID()
		}
		if err := st.Apply(t.Context(), key, c); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s on a tombstone: got %v, want ErrNotFound", name, err)
		}
	}
	if rn, ok := st.(store.Renamer); ok {
		if err := rn.Rename(t.Context(), key, NewKey(), store.Change{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Rename of a tombstone: got %v, want ErrNotFound", err)
		}
	}
	if err := st.Apply(t.Context(), key, store.Change{Create: true, Set: vals("a", "1"), Expires: time.Now().Add(time.Hour)}); !errors.Is(err, store.ErrExists) {
		t.Errorf("a create over a tombstone: got %v, want ErrExists", err)
	}
	rec = load(t, st, key)
	checkValues(t, rec.Values, vals(store.GoneField, "true"))
	if rec.Expires.After(time.Now().Add(2 * time.Minute)) {
		t.Errorf("the tombstone's expiry moved to %v", rec.Expires)
	}
}
