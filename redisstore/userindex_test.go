package redisstore

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

func keysOf(entries []store.Entry) []string {
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	slices.Sort(keys)
	return keys
}

func sorted(keys ...string) []string {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	return keys
}

func TestUserSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()
		now := time.Now()
		user := func(u string, exp time.Duration) store.Change {
			return store.Change{SetUser: true, UserID: u, IP: "198.51.100.7", UserAgent: "agent " + u, Expires: now.Add(exp)}
		}
		long1 := mustCreate(t, s, user("alice", 3*time.Hour))
		long2 := mustCreate(t, s, user("alice", 3*time.Hour))
		short := mustCreate(t, s, user("alice", time.Hour))
		deleted := mustCreate(t, s, user("alice", 3*time.Hour))
		moved := mustCreate(t, s, user("alice", 3*time.Hour))
		loggedOut := mustCreate(t, s, user("alice", 3*time.Hour))
		bob := mustCreate(t, s, user("bob", 3*time.Hour))
		anon := mustCreate(t, s, store.Change{Expires: now.Add(3 * time.Hour)})
		// Logging in later, on an existing session, with a separate touch.
		late := mustCreate(t, s, store.Change{Expires: now.Add(time.Hour)})
		if err := s.Apply(ctx, late, store.Change{SetUser: true, UserID: "alice"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(ctx, late, store.Change{Expires: now.Add(3 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, deleted); err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(ctx, moved, store.Change{SetUser: true, UserID: "bob"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(ctx, loggedOut, store.Change{SetUser: true}); err != nil {
			t.Fatal(err)
		}

		got, err := s.UserSessions(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if want := sorted(long1, long2, short, late); !slices.Equal(keysOf(got), want) {
			t.Fatalf("alice's sessions = %v, want %v", keysOf(got), want)
		}
		for _, e := range got {
			if e.Record.Values != nil || e.Record.UserID != "alice" || e.Record.Created.IsZero() || e.Record.LastSeen.IsZero() {
				t.Errorf("entry %+v", e)
			}
		}
		if i := slices.IndexFunc(got, func(e store.Entry) bool { return e.Key == long1 }); got[i].Record.IP != "198.51.100.7" || got[i].Record.UserAgent != "agent alice" {
			t.Errorf("entry metadata = %+v", got[i].Record)
		}
		bobs, _ := s.UserSessions(ctx, "bob")
		if want := sorted(bob, moved); !slices.Equal(keysOf(bobs), want) {
			t.Errorf("bob's sessions = %v, want %v", keysOf(bobs), want)
		}
		for _, u := range []string{"", "nobody"} {
			if none, err := s.UserSessions(ctx, u); len(none) != 0 || err != nil {
				t.Errorf("UserSessions(%q) = %v, %v", u, none, err)
			}
		}

		// Two hours on, the short session has expired (Redis still holds it)
		// and is never listed.
		later := *s
		shift(&later, 2*time.Hour)
		got, err = later.UserSessions(ctx, "alice")
		if want := sorted(long1, long2, late); err != nil || !slices.Equal(keysOf(got), want) {
			t.Errorf("two hours on, alice's sessions = %v, %v; want %v", keysOf(got), err, want)
		}

		n, err := s.DeleteUserSessions(ctx, "alice", long1)
		if err != nil || n != 3 {
			t.Errorf("DeleteUserSessions = %d, %v; want 3", n, err)
		}
		got, _ = s.UserSessions(ctx, "alice")
		if !slices.Equal(keysOf(got), []string{long1}) {
			t.Errorf("after logging out the other devices: %v, want only %s", keysOf(got), long1)
		}
		for _, k := range []string{long2, short, late} {
			if _, ok, _ := s.Load(ctx, k); ok {
				t.Errorf("%s survived", k)
			}
		}
		for _, k := range []string{long1, moved, bob, anon, loggedOut} {
			if _, ok, _ := s.Load(ctx, k); !ok {
				t.Errorf("%s was deleted", k)
			}
		}
		if n, err := s.DeleteUserSessions(ctx, "", ""); n != 0 || err != nil {
			t.Errorf("DeleteUserSessions of no user = %d, %v", n, err)
		}
		if n, err := s.DeleteUserSessions(ctx, "alice", ""); n != 1 || err != nil {
			t.Errorf("DeleteUserSessions(alice, none) = %d, %v; want 1", n, err)
		}
	})
}

// TestUserIndexFollowsTouches checks the index invariant: however far
// touches push a session's expiry, the index covers it, so the session stays
// listed (and revocable) for as long as it lives.
func TestUserIndexFollowsTouches(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()
		idle := 30 * time.Minute
		key := mustCreate(t, s, store.Change{SetUser: true, UserID: "carol", Expires: time.Now().Add(idle)})
		// Ten hours of activity, touched every ten minutes by a clock that
		// runs ahead, so nothing waits.
		for step := range 60 {
			st := *s
			shift(&st, time.Duration(step)*10*time.Minute)
			if err := st.Apply(ctx, key, store.Change{Expires: st.now().Add(idle)}); err != nil {
				t.Fatal(err)
			}
			got, err := st.UserSessions(ctx, "carol")
			if err != nil || !slices.Equal(keysOf(got), []string{key}) {
				t.Fatalf("after %v: sessions = %v, %v", time.Duration(step)*10*time.Minute, keysOf(got), err)
			}
			// Pruning the index at that time, as Prune and every index
			// write do, must keep the entry.
			cutoff := "(" + strconv.FormatInt(st.now().UnixMilli(), 10)
			if err := s.client.ZRemRangeByScore(ctx, s.userKey("carol"), "-inf", cutoff).Err(); err != nil {
				t.Fatal(err)
			}
			rec := mustLoad(t, &st, key)
			score, err := s.client.ZScore(ctx, s.userKey("carol"), key).Result()
			if err != nil || int64(score) < rec.Expires.UnixMilli() {
				t.Fatalf("index score %v (%v) is before the expiry %v", score, err, rec.Expires.UnixMilli())
			}
		}
		n, err := s.DeleteUserSessions(ctx, "carol", "")
		if err != nil || n != 1 {
			t.Errorf("DeleteUserSessions = %d, %v; want 1", n, err)
		}
	})
}

// TestRoundTrips checks the round trips each operation costs: one for a
// load, one for a change, two for a login, one for a touch of a logged-in
// session most of the time; through the auto-pipeliner too (a command alone
// is a batch of one).
func TestRoundTrips(t *testing.T) {
	forEachClientMode(t, testRoundTrips)
}

func testRoundTrips(t *testing.T, opts Options) {
	s := newSingle(t, opts)
	ctx := context.Background()
	trips := rounds(s)
	warm := mustCreate(t, s, store.Change{}) // loads the script
	_ = warm
	key := newKey()
	tests := []struct {
		name string
		want int
		fn   func() error
	}{
		{"create", 1, func() error {
			return s.Apply(ctx, key, store.Change{Create: true, Set: values("a", "1"), Expires: time.Now().Add(time.Hour)})
		}},
		{"load", 1, func() error { _, _, err := s.Load(ctx, key); return err }},
		{"set", 1, func() error { return s.Apply(ctx, key, store.Change{Set: values("b", "2")}) }},
		{"login", 2, func() error {
			return s.Apply(ctx, key, store.Change{SetUser: true, UserID: "dave", Expires: time.Now().Add(time.Hour)})
		}},
		{"touch within the index horizon", 1, func() error {
			return s.Apply(ctx, key, store.Change{Expires: time.Now().Add(90 * time.Minute)})
		}},
		{"touch past the index horizon", 3, func() error {
			return s.Apply(ctx, key, store.Change{Expires: time.Now().Add(3 * time.Hour)})
		}},
		{"increment", 1, func() error { return s.Apply(ctx, key, store.Change{Incr: map[string]int64{"n": 1}}) }},
		{"delete", 1, func() error { return s.Delete(ctx, key) }},
	}
	for _, tt := range tests {
		var err error
		if got := trips(func() { err = tt.fn() }); got != tt.want || err != nil {
			t.Errorf("%s: %d round trips (err %v), want %d", tt.name, got, err, tt.want)
		}
	}
}

func TestUserIndexInCluster(t *testing.T) {
	s := newCluster(t, Options{})
	ctx := context.Background()
	// Sessions of one user spread over the slots (and nodes) of the
	// cluster; the index is a key of its own slot.
	var keys []string
	slots := map[int64]bool{}
	for range 12 {
		k := mustCreate(t, s, store.Change{SetUser: true, UserID: "erin", Expires: time.Now().Add(time.Hour)})
		keys = append(keys, k)
		slot, err := s.client.ClusterKeySlot(ctx, s.recordKey(k)).Result()
		if err != nil {
			t.Fatal(err)
		}
		slots[slot] = true
	}
	if len(slots) < 2 {
		t.Fatalf("all sessions hash to one slot; the test proves nothing")
	}
	got, err := s.UserSessions(ctx, "erin")
	if err != nil || !slices.Equal(keysOf(got), sorted(keys...)) {
		t.Fatalf("UserSessions = %v, %v; want %v", keysOf(got), err, sorted(keys...))
	}
	n, err := s.DeleteUserSessions(ctx, "erin", keys[0])
	if err != nil || n != len(keys)-1 {
		t.Errorf("DeleteUserSessions = %d, %v; want %d", n, err, len(keys)-1)
	}
	got, _ = s.UserSessions(ctx, "erin")
	if !slices.Equal(keysOf(got), []string{keys[0]}) {
		t.Errorf("left %v, want %v", keysOf(got), keys[:1])
	}
	card, _ := s.client.ZCard(ctx, s.userKey("erin")).Result()
	if card != 1 {
		t.Errorf("index holds %d entries after the deletes, want 1", card)
	}
}

// TestIndexWriteFailureLeavesRecordAlone makes the index write fail (the
// index key holds a string) and checks the login is refused with nothing
// written: a record is never attached to a user its index does not cover.
func TestIndexWriteFailureLeavesRecordAlone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()
		if err := s.client.Set(ctx, s.userKey("mallory"), "not a zset", 0).Err(); err != nil {
			t.Fatal(err)
		}
		key := mustCreate(t, s, store.Change{Expires: time.Now().Add(time.Hour)})
		for name, c := range map[string]store.Change{
			"login with expiry": {SetUser: true, UserID: "mallory", Expires: time.Now().Add(time.Hour)},
			"login alone":       {SetUser: true, UserID: "mallory"},
		} {
			err := s.Apply(ctx, key, c)
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s: err = %v, want ErrUnavailable", name, err)
			}
			if rec := mustLoad(t, s, key); rec.UserID != "" {
				t.Errorf("%s: the record was attached to the user anyway", name)
			}
		}
	})
}

func TestHorizon(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		exp  time.Time
		want time.Time
	}{
		{"doubles the remaining life", now.Add(30 * time.Minute), now.Add(time.Hour)},
		{"at least a minute of slack", now.Add(time.Second), now.Add(time.Second + time.Minute)},
		{"at most a week of slack", now.Add(30 * 24 * time.Hour), now.Add(37 * 24 * time.Hour)},
		{"rounds up to the millisecond", now.Add(time.Hour + time.Microsecond), now.Add(2*time.Hour + time.Millisecond)},
	}
	for _, tt := range tests {
		if got := horizon(tt.exp, now); got != tt.want.UnixMilli() {
			t.Errorf("%s: horizon = %d, want %d", tt.name, got, tt.want.UnixMilli())
		}
	}
}
