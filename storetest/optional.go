package storetest

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

func (s *suite) pruner(t *testing.T) {
	if _, ok := s.newStore(t).(store.Pruner); !ok {
		t.Skip("the store does not implement store.Pruner")
	}

	t.Run("expired records are pruned and live ones kept", func(t *testing.T) {
		st := s.newStore(t)
		p := st.(store.Pruner)
		var expired, live []string
		for range 3 {
			expired = append(expired, create(t, st, store.Change{Set: vals("a", "1"), Expires: time.Now().Add(-time.Minute)}))
			live = append(live, create(t, st, store.Change{Set: vals("a", "1")}))
		}
		touched := create(t, st, store.Change{Set: vals("a", "1")})
		if err := st.Apply(t.Context(), touched, store.Change{Expires: time.Now().Add(-time.Second)}); err != nil {
			t.Fatal(err)
		}
		expired = append(expired, touched)

		n, err := p.Prune(t.Context())
		if err != nil {
			t.Fatalf("Prune: %v", err)
		}
		// The store may be shared, so Prune may also find others' records.
		if n < len(expired) && !s.opts.NativeExpiry {
			t.Errorf("got %d records pruned, want at least %d", n, len(expired))
		}
		for _, k := range live {
			checkValues(t, load(t, st, k).Values, vals("a", "1"))
		}
		for _, k := range expired {
			mustBeGone(t, st, k)
		}
		// A key whose expired record was pruned can be created again.
		if err := st.Apply(t.Context(), expired[0], store.Change{Create: true, Set: vals("b", "2"), Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatalf("create after prune: %v", err)
		}
		checkValues(t, load(t, st, expired[0]).Values, vals("b", "2"))
	})

	t.Run("a second prune finds none of the same records", func(t *testing.T) {
		st := s.newStore(t)
		p := st.(store.Pruner)
		create(t, st, store.Change{Expires: time.Now().Add(-time.Minute)})
		if _, err := p.Prune(t.Context()); err != nil {
			t.Fatal(err)
		}
		live := create(t, st, store.Change{Set: vals("a", "1")})
		if _, err := p.Prune(t.Context()); err != nil {
			t.Fatal(err)
		}
		checkValues(t, load(t, st, live).Values, vals("a", "1"))
	})
}

func (s *suite) lister(t *testing.T) {
	if _, ok := s.newStore(t).(store.Lister); !ok {
		t.Skip("the store does not implement store.Lister")
	}

	// mine lists the records under keys, ignoring others on a shared store.
	mine := func(t *testing.T, l store.Lister, keys []string) map[string]store.Record {
		t.Helper()
		got := make(map[string]store.Record)
		err := l.List(t.Context(), func(e store.Entry) error {
			if slices.Contains(keys, e.Key) {
				if _, dup := got[e.Key]; dup {
					t.Errorf("got key %s listed twice, want once", e.Key)
				}
				got[e.Key] = e.Record
			}
			return nil
		})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		return got
	}

	t.Run("List returns the live records with their values", func(t *testing.T) {
		st := s.newStore(t)
		l := st.(store.Lister)
		u := "user-" + NewID()
		at := now()
		var keys, live []string
		for i := range 3 {
			k := create(t, st, store.Change{Set: vals("i", fmt.Sprint(i)), Now: at, Expires: at.Add(time.Hour), SetUser: true, UserID: u, IP: "ip", UserAgent: "ua"})
			keys, live = append(keys, k), append(live, k)
		}
		keys = append(keys, create(t, st, store.Change{Set: vals("i", "9"), Expires: time.Now().Add(-time.Minute)}))
		deleted := create(t, st, store.Change{})
		if err := st.Delete(t.Context(), deleted); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, deleted)

		got := mine(t, l, keys)
		if len(got) != len(live) {
			t.Errorf("got %d of the records listed, want the %d live ones", len(got), len(live))
		}
		for i, k := range live {
			rec, ok := got[k]
			if !ok {
				t.Errorf("live record %d: not listed", i)
				continue
			}
			checkValues(t, rec.Values, vals("i", fmt.Sprint(i)))
			checkMeta(t, rec, store.Record{Created: at, LastSeen: at, Expires: at.Add(time.Hour), UserID: u, IP: "ip", UserAgent: "ua"})
		}
	})

	t.Run("ErrStop stops List without an error", func(t *testing.T) {
		st := s.newStore(t)
		l := st.(store.Lister)
		for range 3 {
			create(t, st, store.Change{})
		}
		calls := 0
		err := l.List(t.Context(), func(store.Entry) error {
			calls++
			return store.ErrStop
		})
		if err != nil || calls != 1 {
			t.Errorf("got %v after %d calls, want nil after 1", err, calls)
		}
		// And a wrapped ErrStop too.
		calls = 0
		err = l.List(t.Context(), func(store.Entry) error {
			calls++
			return fmt.Errorf("done: %w", store.ErrStop)
		})
		if err != nil || calls != 1 {
			t.Errorf("wrapped: got %v after %d calls, want nil after 1", err, calls)
		}
	})

	t.Run("a callback's error stops List and is returned", func(t *testing.T) {
		st := s.newStore(t)
		l := st.(store.Lister)
		for range 3 {
			create(t, st, store.Change{})
		}
		boom := errors.New("boom")
		calls := 0
		err := l.List(t.Context(), func(store.Entry) error {
			calls++
			return boom
		})
		if !errors.Is(err, boom) || calls != 1 {
			t.Errorf("got %v after %d calls, want boom after 1", err, calls)
		}
	})

	t.Run("the callback may use the store", func(t *testing.T) {
		st := s.newStore(t)
		l := st.(store.Lister)
		keys := []string{create(t, st, store.Change{Set: vals("a", "1")}), create(t, st, store.Change{Set: vals("a", "1")})}
		err := l.List(t.Context(), func(e store.Entry) error {
			if slices.Contains(keys, e.Key) {
				return st.Apply(t.Context(), e.Key, store.Change{Incr: map[string]int64{"a": 1}})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			checkValues(t, load(t, st, k).Values, vals("a", "2"))
		}
	})
}

func (s *suite) userIndex(t *testing.T) {
	if _, ok := s.newStore(t).(store.UserIndex); !ok {
		t.Skip("the store does not implement store.UserIndex")
	}

	sessions := func(t *testing.T, u store.UserIndex, userID string) map[string]store.Record {
		t.Helper()
		entries, err := u.UserSessions(t.Context(), userID)
		if err != nil {
			t.Fatalf("UserSessions: %v", err)
		}
		got := make(map[string]store.Record, len(entries))
		for _, e := range entries {
			if _, dup := got[e.Key]; dup {
				t.Errorf("got key %s twice, want once", e.Key)
			}
			got[e.Key] = e.Record
		}
		return got
	}
	keysOf := func(m map[string]store.Record) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	sorted := func(ks ...string) []string { return slices.Sorted(slices.Values(ks)) }

	t.Run("UserSessions lists a user's live sessions without values", func(t *testing.T) {
		st := s.newStore(t)
		u := st.(store.UserIndex)
		user, other := "user-"+NewID(), "user-"+NewID()
		at := now()
		mk := func(userID string, exp time.Time) string {
			return create(t, st, store.Change{Set: vals("secret", `"s"`), Now: at, Expires: exp, SetUser: true, UserID: userID, IP: "203.0.113.9", UserAgent: "Safari"})
		}
		a, b := mk(user, at.Add(time.Hour)), mk(user, at.Add(2*time.Hour))
		mk(user, time.Now().Add(-time.Minute)) // expired
		mk(other, at.Add(time.Hour))
		create(t, st, store.Change{Set: vals("anon", "1")})

		got := sessions(t, u, user)
		if ks := keysOf(got); !slices.Equal(ks, sorted(a, b)) {
			t.Fatalf("got keys %v, want %v", ks, sorted(a, b))
		}
		for k, rec := range got {
			if rec.Values != nil {
				t.Errorf("got values %s, want nil", showValues(rec.Values))
			}
			exp := at.Add(time.Hour)
			if k == b {
				exp = at.Add(2 * time.Hour)
			}
			checkMeta(t, rec, store.Record{Created: at, LastSeen: at, Expires: exp, UserID: user, IP: "203.0.113.9", UserAgent: "Safari"})
		}
	})

	t.Run("an unknown user and the empty user have no sessions", func(t *testing.T) {
		st := s.newStore(t)
		u := st.(store.UserIndex)
		create(t, st, store.Change{Set: vals("anon", "1")})
		create(t, st, store.Change{SetUser: true, UserID: "", IP: "ip"})
		for _, id := range []string{"user-" + NewID(), ""} {
			entries, err := u.UserSessions(t.Context(), id)
			if err != nil || len(entries) != 0 {
				t.Errorf("UserSessions(%q): got %d entries, %v, want none", id, len(entries), err)
			}
		}
	})

	t.Run("the index follows SetUser, touches into the past and deletes", func(t *testing.T) {
		st := s.newStore(t)
		u := st.(store.UserIndex)
		alice, bob := "user-"+NewID(), "user-"+NewID()
		k1 := create(t, st, store.Change{SetUser: true, UserID: alice})
		k2 := create(t, st, store.Change{SetUser: true, UserID: alice})
		k3 := create(t, st, store.Change{SetUser: true, UserID: alice})
		k4 := create(t, st, store.Change{}) // logs in later
		steps := []struct {
			c     store.Change
			key   string
			alice []string
			bob   []string
		}{
			{key: k1, c: store.Change{SetUser: true, UserID: bob}, alice: sorted(k2, k3), bob: sorted(k1)},
			{key: k2, c: store.Change{SetUser: true}, alice: sorted(k3), bob: sorted(k1)},
			{key: k4, c: store.Change{SetUser: true, UserID: alice}, alice: sorted(k3, k4), bob: sorted(k1)},
			{key: k3, c: store.Change{Expires: time.Now().Add(-time.Second)}, alice: sorted(k4), bob: sorted(k1)},
			{key: k4, c: store.Change{Set: vals("a", "1")}, alice: sorted(k4), bob: sorted(k1)},
		}
		for i, step := range steps {
			if err := st.Apply(t.Context(), step.key, step.c); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if got := keysOf(sessions(t, u, alice)); !slices.Equal(got, step.alice) {
				t.Errorf("step %d: got alice's keys %v, want %v", i, got, step.alice)
			}
			if got := keysOf(sessions(t, u, bob)); !slices.Equal(got, step.bob) {
				t.Errorf("step %d: got bob's keys %v, want %v", i, got, step.bob)
			}
		}
		if err := st.Delete(t.Context(), k1); err != nil {
			t.Fatal(err)
		}
		if got := keysOf(sessions(t, u, bob)); len(got) != 0 {
			t.Errorf("after delete: got bob's keys %v, want none", got)
		}
		// A create over an expired record of alice's for bob moves it.
		if err := st.Apply(t.Context(), k3, store.Change{Create: true, Expires: time.Now().Add(time.Hour), SetUser: true, UserID: bob}); err != nil {
			t.Fatal(err)
		}
		if got := keysOf(sessions(t, u, bob)); !slices.Equal(got, sorted(k3)) {
			t.Errorf("after re-create: got bob's keys %v, want %v", got, sorted(k3))
		}
		if got := keysOf(sessions(t, u, alice)); !slices.Equal(got, sorted(k4)) {
			t.Errorf("after re-create: got alice's keys %v, want %v", got, sorted(k4))
		}
	})

	t.Run("DeleteUserSessions deletes all but the current session", func(t *testing.T) {
		st := s.newStore(t)
		u := st.(store.UserIndex)
		user, other := "user-"+NewID(), "user-"+NewID()
		current := create(t, st, store.Change{Set: vals("a", "1"), SetUser: true, UserID: user})
		var others []string
		for range 3 {
			others = append(others, create(t, st, store.Change{SetUser: true, UserID: user}))
		}
		theirs := create(t, st, store.Change{Set: vals("b", "1"), SetUser: true, UserID: other})
		anon := create(t, st, store.Change{Set: vals("c", "1")})

		n, err := u.DeleteUserSessions(t.Context(), user, current)
		if err != nil || n != len(others) {
			t.Fatalf("got %d, %v, want %d, nil", n, err, len(others))
		}
		for _, k := range others {
			mustBeGone(t, st, k)
		}
		checkValues(t, load(t, st, current).Values, vals("a", "1"))
		checkValues(t, load(t, st, theirs).Values, vals("b", "1"))
		checkValues(t, load(t, st, anon).Values, vals("c", "1"))
		if got := keysOf(sessions(t, u, user)); !slices.Equal(got, []string{current}) {
			t.Errorf("got the user's keys %v, want only %v", got, current)
		}
		// A deleted session cannot come back through a change.
		if err := st.Apply(t.Context(), others[0], store.Change{Set: vals("x", "1")}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Apply to a deleted session: got %v, want an error wrapping ErrNotFound", err)
		}

		n, err = u.DeleteUserSessions(t.Context(), user, "")
		if err != nil || n != 1 {
			t.Fatalf("with no exception: got %d, %v, want 1, nil", n, err)
		}
		mustBeGone(t, st, current)
		checkValues(t, load(t, st, theirs).Values, vals("b", "1"))
	})

	t.Run("DeleteUserSessions of the empty user deletes nothing", func(t *testing.T) {
		st := s.newStore(t)
		u := st.(store.UserIndex)
		anon := create(t, st, store.Change{Set: vals("a", "1")})
		n, err := u.DeleteUserSessions(t.Context(), "", "")
		if err != nil || n != 0 {
			t.Errorf("got %d, %v, want 0, nil", n, err)
		}
		checkValues(t, load(t, st, anon).Values, vals("a", "1"))
	})

	t.Run("DeleteUserSessions with a malformed exception deletes nothing", func(t *testing.T) {
		st := s.newStore(t)
		u := st.(store.UserIndex)
		user := "user-" + NewID()
		k := create(t, st, store.Change{Set: vals("a", "1"), SetUser: true, UserID: user})
		n, err := u.DeleteUserSessions(t.Context(), user, "not a key")
		if !errors.Is(err, store.ErrMalformedKey) || n != 0 {
			t.Errorf("got %d, %v, want 0 and an error wrapping ErrMalformedKey", n, err)
		}
		checkValues(t, load(t, st, k).Values, vals("a", "1"))
	})

	t.Run("DeleteUserSessions of an unknown user deletes nothing", func(t *testing.T) {
		st := s.newStore(t)
		u := st.(store.UserIndex)
		n, err := u.DeleteUserSessions(t.Context(), "user-"+NewID(), "")
		if err != nil || n != 0 {
			t.Errorf("got %d, %v, want 0, nil", n, err)
		}
	})
}

func (s *suite) renamer(t *testing.T) {
	if _, ok := s.newStore(t).(store.Renamer); !ok {
		t.Skip("the store does not implement store.Renamer")
	}

	t.Run("Rename moves the record with the change applied", func(t *testing.T) {
		st := s.newStore(t)
		r := st.(store.Renamer)
		user := "user-" + NewID()
		t0 := now().Add(-time.Minute)
		old := create(t, st, store.Change{Set: vals("a", "1", "n", "1", "gone", "1"), Now: t0, Expires: t0.Add(time.Hour), SetUser: true, UserID: user, IP: "ip"})
		newKey := NewKey()
		t1 := now()
		c := store.Change{Delete: []string{"gone"}, Set: vals("b", "2"), Incr: map[string]int64{"n": 1}, Now: t1, Expires: t1.Add(2 * time.Hour), SetUser: true, UserID: user, IP: "ip2"}
		if err := r.Rename(t.Context(), old, newKey, c); err != nil {
			t.Fatalf("Rename: %v", err)
		}
		mustBeGone(t, st, old)
		got := load(t, st, newKey)
		checkValues(t, got.Values, vals("a", "1", "b", "2", "n", "2"))
		checkMeta(t, got, store.Record{Created: t0, LastSeen: t1, Expires: t1.Add(2 * time.Hour), UserID: user, IP: "ip2"})
		if err := st.Apply(t.Context(), old, store.Change{Set: vals("x", "1")}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Apply to the old key: got %v, want an error wrapping ErrNotFound", err)
		}
		mustBeGone(t, st, old)
		if u, ok := st.(store.UserIndex); ok {
			entries, err := u.UserSessions(t.Context(), user)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Key != newKey {
				t.Errorf("got the user's sessions %v, want only the new key", entries)
			}
		}
	})

	t.Run("Rename without a live old record is not found and changes nothing", func(t *testing.T) {
		st := s.newStore(t)
		r := st.(store.Renamer)
		expired := create(t, st, store.Change{Set: vals("a", "1"), Expires: time.Now().Add(-time.Minute)})
		for name, old := range map[string]string{"missing": NewKey(), "expired": expired} {
			newKey := NewKey()
			err := r.Rename(t.Context(), old, newKey, store.Change{Set: vals("b", "1"), Expires: time.Now().Add(time.Hour)})
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: got %v, want an error wrapping ErrNotFound", name, err)
			}
			mustBeGone(t, st, newKey)
			mustBeGone(t, st, old)
		}
	})

	t.Run("Rename onto a live record is refused and changes nothing", func(t *testing.T) {
		st := s.newStore(t)
		r := st.(store.Renamer)
		old := create(t, st, store.Change{Set: vals("a", "1")})
		taken := create(t, st, store.Change{Set: vals("b", "1")})
		err := r.Rename(t.Context(), old, taken, store.Change{Set: vals("c", "1")})
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("got %v, want an error wrapping ErrExists", err)
		}
		checkValues(t, load(t, st, old).Values, vals("a", "1"))
		checkValues(t, load(t, st, taken).Values, vals("b", "1"))
	})

	t.Run("Rename onto an expired record replaces it", func(t *testing.T) {
		st := s.newStore(t)
		r := st.(store.Renamer)
		old := create(t, st, store.Change{Set: vals("a", "1")})
		stale := create(t, st, store.Change{Set: vals("stale", "1"), Expires: time.Now().Add(-time.Minute)})
		if err := r.Rename(t.Context(), old, stale, store.Change{}); err != nil {
			t.Fatalf("got %v, want the record moved", err)
		}
		mustBeGone(t, st, old)
		checkValues(t, load(t, st, stale).Values, vals("a", "1"))
	})

	t.Run("a failing change renames nothing", func(t *testing.T) {
		st := s.newStore(t)
		r := st.(store.Renamer)
		old := create(t, st, store.Change{Set: vals("s", `"text"`)})
		newKey := NewKey()
		err := r.Rename(t.Context(), old, newKey, store.Change{Set: vals("b", "1"), Incr: map[string]int64{"s": 1}})
		if !errors.Is(err, store.ErrNotNumber) {
			t.Fatalf("got %v, want an error wrapping ErrNotNumber", err)
		}
		checkValues(t, load(t, st, old).Values, vals("s", `"text"`))
		mustBeGone(t, st, newKey)
		if s.opts.MaxRecordSize > 0 {
			err := r.Rename(t.Context(), old, newKey, store.Change{Set: map[string][]byte{"big": RandomJSON(s.opts.MaxRecordSize)}})
			if !errors.Is(err, store.ErrTooLarge) {
				t.Fatalf("too large: got %v, want an error wrapping ErrTooLarge", err)
			}
			checkValues(t, load(t, st, old).Values, vals("s", `"text"`))
			mustBeGone(t, st, newKey)
		}
	})

	t.Run("Rename ignores Change.Create", func(t *testing.T) {
		st := s.newStore(t)
		r := st.(store.Renamer)
		old := create(t, st, store.Change{Set: vals("a", "1")})
		newKey := NewKey()
		if err := r.Rename(t.Context(), old, newKey, store.Change{Create: true, Set: vals("b", "1")}); err != nil {
			t.Fatalf("got %v, want the record moved", err)
		}
		checkValues(t, load(t, st, newKey).Values, vals("a", "1", "b", "1"))
		if err := r.Rename(t.Context(), NewKey(), NewKey(), store.Change{Create: true}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a create-rename of a missing key: got %v, want an error wrapping ErrNotFound", err)
		}
	})

	t.Run("Rename onto the same key keeps the record", func(t *testing.T) {
		st := s.newStore(t)
		r := st.(store.Renamer)
		key := create(t, st, store.Change{Set: vals("a", "1")})
		if err := r.Rename(t.Context(), key, key, store.Change{}); err != nil && !errors.Is(err, store.ErrExists) {
			t.Errorf("got %v, want nil or an error wrapping ErrExists", err)
		}
		checkValues(t, load(t, st, key).Values, vals("a", "1"))
	})

	t.Run("concurrent renames of one record: exactly one wins", func(t *testing.T) {
		st := s.newStore(t)
		r := st.(store.Renamer)
		old := create(t, st, store.Change{Set: vals("a", "1")})
		const n = 10
		targets := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			targets[i] = NewKey()
			wg.Go(func() { errs[i] = r.Rename(t.Context(), old, targets[i], store.Change{}) })
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
				checkValues(t, load(t, st, targets[i]).Values, vals("a", "1"))
			case errors.Is(err, store.ErrNotFound):
				mustBeGone(t, st, targets[i])
			default:
				t.Errorf("got %v, want nil or an error wrapping ErrNotFound", err)
			}
		}
		if wins != 1 {
			t.Errorf("got %d successful renames, want 1", wins)
		}
		mustBeGone(t, st, old)
	})
}

func (s *suite) locker(t *testing.T) {
	if _, ok := s.newStore(t).(store.Locker); !ok {
		t.Skip("the store does not implement store.Locker")
	}

	t.Run("a lock is exclusive and released only by its token", func(t *testing.T) {
		st := s.newStore(t)
		l := st.(store.Locker)
		ctx := t.Context()
		key := NewKey()
		try := func(token string, want bool) {
			t.Helper()
			got, err := l.TryLock(ctx, key, token, time.Minute)
			if err != nil || got != want {
				t.Fatalf("TryLock(%q): got %v, %v, want %v, nil", token, got, err, want)
			}
		}
		try("a", true)
		try("b", false)
		try("a", true) // the holder's retry: see LockerRetry
		if err := l.Unlock(ctx, key, "b"); err != nil {
			t.Fatalf("Unlock with the wrong token: %v", err)
		}
		try("b", false)
		if err := l.Unlock(ctx, key, "a"); err != nil {
			t.Fatalf("Unlock: %v", err)
		}
		try("b", true)
		if err := l.Unlock(ctx, key, "b"); err != nil {
			t.Fatal(err)
		}
		if err := l.Unlock(ctx, key, "b"); err != nil {
			t.Errorf("Unlock of a free lock: got %v, want nil", err)
		}
		// Locks of other keys are independent.
		try("c", true)
		if got, err := l.TryLock(ctx, NewKey(), "d", time.Minute); err != nil || !got {
			t.Errorf("TryLock of another key: got %v, %v, want true, nil", got, err)
		}
	})

	t.Run("a lock does not block the record", func(t *testing.T) {
		st := s.newStore(t)
		l := st.(store.Locker)
		key := NewKey()
		if got, err := l.TryLock(t.Context(), key, "a", time.Minute); err != nil || !got {
			t.Fatalf("TryLock before the record exists: got %v, %v, want true, nil", got, err)
		}
		if err := st.Apply(t.Context(), key, store.Change{Create: true, Set: vals("a", "1"), Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := st.Apply(t.Context(), key, store.Change{Incr: map[string]int64{"a": 1}}); err != nil {
			t.Fatal(err)
		}
		checkValues(t, load(t, st, key).Values, vals("a", "2"))
		if err := st.Delete(t.Context(), key); err != nil {
			t.Fatal(err)
		}
		mustBeGone(t, st, key)
	})

	t.Run("a lock whose ttl has passed is free", func(t *testing.T) {
		st := s.newStore(t)
		l := st.(store.Locker)
		ctx := t.Context()
		key := NewKey()
		if got, err := l.TryLock(ctx, key, "short", time.Millisecond); err != nil || !got {
			t.Fatalf("TryLock: got %v, %v, want true, nil", got, err)
		}
		// Waiting for a lock's ttl, not a record's expiry: poll until it
		// passes, whatever the store's clock granularity.
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, err := l.TryLock(ctx, key, "next", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if got {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("got no lock 10s after a 1ms ttl, want it free")
			}
			time.Sleep(time.Millisecond)
		}
		// The expired holder's unlock must not release the new holder.
		if err := l.Unlock(ctx, key, "short"); err != nil {
			t.Fatal(err)
		}
		if got, err := l.TryLock(ctx, key, "third", time.Minute); err != nil || got {
			t.Errorf("TryLock after a stale unlock: got %v, %v, want false, nil", got, err)
		}
	})

	t.Run("20 goroutines contending never hold the lock together", func(t *testing.T) {
		st := s.newStore(t)
		l := st.(store.Locker)
		key := NewKey()
		const goroutines, rounds = 20, 5
		var holders, acquired atomic.Int32
		var wg sync.WaitGroup
		deadline := time.Now().Add(30 * time.Second)
		for g := range goroutines {
			wg.Go(func() {
				token := fmt.Sprintf("token-%d-%s", g, NewID())
				for done := 0; done < rounds; {
					if time.Now().After(deadline) {
						t.Errorf("goroutine %d: got the lock %d times in 30s, want %d", g, done, rounds)
						return
					}
					got, err := l.TryLock(t.Context(), key, token, time.Minute)
					if err != nil {
						t.Errorf("TryLock: %v", err)
						return
					}
					if !got {
						time.Sleep(50 * time.Microsecond)
						continue
					}
					if h := holders.Add(1); h != 1 {
						t.Errorf("got %d holders at once, want 1", h)
					}
					acquired.Add(1)
					for range 10 {
						runtime.Gosched()
					}
					holders.Add(-1)
					if err := l.Unlock(t.Context(), key, token); err != nil {
						t.Errorf("Unlock: %v", err)
						return
					}
					done++
				}
			})
		}
		wg.Wait()
		if got := acquired.Load(); got != goroutines*rounds {
			t.Errorf("got the lock %d times, want %d", got, goroutines*rounds)
		}
	})
}

func (s *suite) taker(t *testing.T) {
	if _, ok := s.newStore(t).(store.Taker); !ok {
		t.Skip("the store does not implement store.Taker")
	}

	t.Run("Take returns the value and removes it", func(t *testing.T) {
		st := s.newStore(t)
		tk := st.(store.Taker)
		flash := `{"notice": "Saved <b>!</b>"}`
		key := create(t, st, store.Change{Set: vals("_flash", flash, "a", "1")})
		v, ok, err := tk.Take(t.Context(), key, "_flash", "")
		if err != nil || !ok || string(v) != flash {
			t.Fatalf("got %q, %v, %v, want %q, true, nil", v, ok, err, flash)
		}
		checkValues(t, load(t, st, key).Values, vals("a", "1"))
		if v, ok, err := tk.Take(t.Context(), key, "_flash", ""); ok || err != nil {
			t.Errorf("a second Take: got %q, %v, %v, want nothing", v, ok, err)
		}
	})

	t.Run("Take finds nothing without a live record or the field", func(t *testing.T) {
		st := s.newStore(t)
		tk := st.(store.Taker)
		live := create(t, st, store.Change{Set: vals("a", "1")})
		expired := create(t, st, store.Change{Set: vals("f", "1"), Expires: time.Now().Add(-time.Minute)})
		missing := NewKey()
		for name, c := range map[string]struct{ key, field string }{
			"a missing field":    {live, "f"},
			"a missing record":   {missing, "f"},
			"an expired record":  {expired, "f"},
			"the empty field":    {live, ""},
			"a field of another": {live, "A"},
		} {
			if v, ok, err := tk.Take(t.Context(), c.key, c.field, ""); ok || err != nil {
				t.Errorf("%s: got %q, %v, %v, want nothing and no error", name, v, ok, err)
			}
		}
		checkValues(t, load(t, st, live).Values, vals("a", "1"))
		mustBeGone(t, st, missing)
		mustBeGone(t, st, expired)
	})

	t.Run("of 20 concurrent takes exactly one gets the value", func(t *testing.T) {
		st := s.newStore(t)
		tk := st.(store.Taker)
		key := create(t, st, store.Change{Set: vals("_flash", `"once"`)})
		var got atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				v, ok, err := tk.Take(t.Context(), key, "_flash", "")
				if err != nil {
					t.Errorf("Take: %v", err)
				}
				if ok {
					got.Add(1)
					if string(v) != `"once"` {
						t.Errorf("got %q, want %q", v, `"once"`)
					}
				}
			})
		}
		wg.Wait()
		if n := got.Load(); n != 1 {
			t.Errorf("got the value %d times, want once", n)
		}
	})

	t.Run("takes and change sets running together lose nothing", func(t *testing.T) {
		st := s.newStore(t)
		tk := st.(store.Taker)
		const n = 30
		initial := vals()
		for i := range n {
			initial[fmt.Sprintf("take%02d", i)] = []byte(fmt.Sprint(i))
		}
		key := create(t, st, store.Change{Set: initial})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				v, ok, err := tk.Take(t.Context(), key, fmt.Sprintf("take%02d", i), "")
				if err != nil || !ok || string(v) != fmt.Sprint(i) {
					t.Errorf("Take %d: got %q, %v, %v, want %q", i, v, ok, err, fmt.Sprint(i))
				}
			})
			wg.Go(func() {
				if err := st.Apply(t.Context(), key, store.Change{Set: vals(fmt.Sprintf("set%02d", i), "1"), Incr: map[string]int64{"n": 1}}); err != nil {
					t.Errorf("Apply %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		want := vals("n", fmt.Sprint(n))
		for i := range n {
			want[fmt.Sprintf("set%02d", i)] = []byte("1")
		}
		checkValues(t, load(t, st, key).Values, want)
	})
}
