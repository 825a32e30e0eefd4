package redisstore

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

// TestErrorOrder checks that a change that fails for several reasons at once
// fails with the error store.Merge gives: the record's existence first, then
// ErrNotNumber, then ErrNotList, then the size. applyArgs finds some of these
// errors in Go (an increment or push onto a value the change sets) and the
// script others (onto stored values); the script reports Go's in the right
// place.
func TestErrorOrder(t *testing.T) {
	big := strings.Repeat("a", 200)
	tests := []struct {
		name    string
		missing bool // the record does not exist
		stored  map[string][]byte
		c       store.Change
		want    error
	}{
		{"a missing record with a bad set and increment", true, nil,
			store.Change{Set: values("a", `"x"`), Incr: map[string]int64{"a": 1}}, store.ErrNotFound},
		{"a missing record with a bad set and push", true, nil,
			store.Change{Set: values("a", `"x"`), Push: map[string]store.Append{"a": {Values: [][]byte{[]byte("1")}}}}, store.ErrNotFound},
		{"a missing record with a push onto an increment", true, nil,
			store.Change{Incr: map[string]int64{"a": 1}, Push: map[string]store.Append{"a": {Values: [][]byte{[]byte("1")}}}}, store.ErrNotFound},
		{"a create over a live record with a bad increment", false, values("n", "1"),
			store.Change{Create: true, Set: values("a", `"x"`), Incr: map[string]int64{"a": 1}}, store.ErrExists},
		{"a bad stored increment before a bad push onto a set value", false, values("n", `"text"`),
			store.Change{Incr: map[string]int64{"n": 1}, Set: values("l", "5"), Push: map[string]store.Append{"l": {Values: [][]byte{[]byte("1")}}}}, store.ErrNotNumber},
		{"a bad increment of a set value before a bad stored push", false, values("l", "5"),
			store.Change{Set: values("a", `"x"`), Incr: map[string]int64{"a": 1}, Push: map[string]store.Append{"l": {Values: [][]byte{[]byte("1")}}}}, store.ErrNotNumber},
		{"a push onto a stored increment", false, values("n", "1"),
			store.Change{Incr: map[string]int64{"n": 1}, Push: map[string]store.Append{"n": {Values: [][]byte{[]byte("1")}}}}, store.ErrNotList},
		{"a push onto a stored increment that fails", false, values("n", `"x"`),
			store.Change{Incr: map[string]int64{"n": 1}, Push: map[string]store.Append{"n": {Values: [][]byte{[]byte("1")}}}}, store.ErrNotNumber},
		{"a bad push before the size", false, values("l", "5"),
			store.Change{Set: values("big", big), Push: map[string]store.Append{"l": {Values: [][]byte{[]byte("1")}}}}, store.ErrNotList},
		{"a bad increment of a cleared value before the size", false, values("n", "1"),
			store.Change{Clear: true, Set: values("big", big, "n", `"x"`), Incr: map[string]int64{"n": 1}}, store.ErrNotNumber},
	}
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{MaxRecordSize: 100})
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				key := newKey()
				var before store.Record
				if !tt.missing {
					key = mustCreate(t, s, store.Change{Set: tt.stored})
					before = mustLoad(t, s, key)
				}
				c := tt.c
				c.ID = store.NewChangeID()
				c.Expires = time.Now().Add(time.Hour)
				_, merr := store.Merge(before, !tt.missing, c, time.Now())
				if merr == nil {
					merr = store.ErrTooLarge
				}
				if !errors.Is(merr, tt.want) {
					t.Fatalf("the test is wrong: store.Merge says %v, the test wants %v", merr, tt.want)
				}
				for i := range 2 { // a failed change is not remembered
					if err := s.Apply(ctx, key, c); !errors.Is(err, tt.want) {
						t.Errorf("Apply %d: got %v, want %v", i+1, err, tt.want)
					}
				}
				if tt.missing {
					if _, ok, _ := s.Load(ctx, key); ok {
						t.Error("the change created the record")
					}
				} else if after := mustLoad(t, s, key); !equalValues(after.Values, before.Values) {
					t.Errorf("values = %q, want them unchanged: %q", after.Values, before.Values)
				}
			})
		}
	})
}

// TestCreateOverDeadRecordOfSameUser creates a session over an expired one of
// the same user: the new record must hold the user and be in the index,
// although the dead record held the same user ID (the script skips writing
// fields that hold their value already, which must not count the dead
// record's).
func TestCreateOverDeadRecordOfSameUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()
		key := newKey()
		login := store.Change{Create: true, Set: values("a", "1"), Expires: time.Now().Add(time.Hour),
			SetUser: true, UserID: "ann", IP: "192.0.2.1", UserAgent: "curl"}
		if err := s.Apply(ctx, key, login); err != nil {
			t.Fatal(err)
		}
		shift(s, 2*time.Hour) // the record is dead by the store's clock, still in Redis
		login.Expires = s.now().Add(time.Hour)
		if err := s.Apply(ctx, key, login); err != nil {
			t.Fatalf("create over the dead record: %v", err)
		}
		rec := mustLoad(t, s, key)
		if rec.UserID != "ann" || rec.IP != "192.0.2.1" || rec.UserAgent != "curl" {
			t.Errorf("user %q, IP %q, user agent %q; want ann, 192.0.2.1, curl", rec.UserID, rec.IP, rec.UserAgent)
		}
		x, err := s.client.HGet(ctx, s.recordKey(key), fieldHorizon).Result()
		if err != nil || x == "" {
			t.Errorf("_x = %q, %v; want the index horizon", x, err)
		}
		entries, err := s.UserSessions(ctx, "ann")
		if err != nil || !slices.Equal(keysOf(entries), []string{key}) {
			t.Errorf("UserSessions = %v, %v; want the new session", keysOf(entries), err)
		}
	})
}

// TestRuntimeErrorForgetsChange makes the script fail with a Lua runtime
// error after it took the change's marker: the marker must go, or a repeat
// of the change would be answered as applied.
func TestRuntimeErrorForgetsChange(t *testing.T) {
	s := newSingle(t, Options{})
	ctx := context.Background()
	key := mustCreate(t, s, store.Change{Set: values("n", "1")})
	c := store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"n": 1}}
	a := s.applyArgs(c, s.now(), nil, indexed{}, false)
	a.args[argMaxSize] = "not a number" // tonumber gives nil: comparing it fails
	keys := []string{s.recordKey(key), s.markerKey(key, markChange, c.ID)}
	err := applyScript.Run(ctx, s.client, keys, a.args...).Err()
	if err == nil || !strings.Contains(err.Error(), "compare") {
		t.Fatalf("got %v, want a runtime error", err)
	}
	if n, err := s.client.Exists(ctx, keys[1]).Result(); err != nil || n != 0 {
		t.Errorf("the marker exists (%d, %v) after the script failed", n, err)
	}
	if err := s.Apply(ctx, key, c); err != nil {
		t.Fatal(err)
	}
	if got := string(mustLoad(t, s, key).Values["n"]); got != "2" {
		t.Errorf("n = %s after the change, want 2", got)
	}
}

// TestRollingDeploy runs an instance with the old apply script and one with
// the new against the same records, in turns, as during a rolling deploy (and
// a rollback): every change must land as store.Merge says, with the size
// (_n) and the user index right, and a change repeated by the other script
// must not apply twice.
func TestRollingDeploy(t *testing.T) {
	legacy := legacyScript(t)
	steps := []store.Change{
		{Set: values("a", `"x"`, "l", "[1]"), Incr: map[string]int64{"n": 1}},
		{Incr: map[string]int64{"n": 2}, Push: map[string]store.Append{"l": {Values: [][]byte{[]byte("2")}}}},
		{SetUser: true, UserID: "bob", IP: "192.0.2.7", UserAgent: "ua"},
		{Set: values("big", `"`+strings.Repeat("compress me ", 300)+`"`)},
		{Push: map[string]store.Append{"big2": {Values: [][]byte{[]byte(`"` + strings.Repeat("y", 2000) + `"`)}}}},
		{Push: map[string]store.Append{"big2": {Values: [][]byte{[]byte("3")}, Keep: 2}}},
		{Delete: []string{"a", "zz"}, Incr: map[string]int64{"n": -10}},
		{Set: values("s", "5"), Incr: map[string]int64{"s": 1, "n": 1}},
		{Clear: true, Set: values("c", "true")},
		{Incr: map[string]int64{"n": 1}, Push: map[string]store.Append{"l": {Values: [][]byte{[]byte("1")}}}},
		{SetUser: true},
		{Set: values("d", "1")},
		{SetUser: true, UserID: "bob"},
		{},
	}
	for _, oldFirst := range []bool{true, false} {
		name := "new first"
		if oldFirst {
			name = "old first"
		}
		t.Run(name, func(t *testing.T) {
			s := newSingle(t, Options{CompressThreshold: 100})
			ctx := context.Background()
			now := time.Now()
			key := newKey()
			first := store.Change{Create: true, Expires: now.Add(time.Hour), Now: now, Set: values("start", "1"), ID: store.NewChangeID()}
			if err := s.Apply(ctx, key, first); err != nil {
				t.Fatal(err)
			}
			want, _ := store.Merge(store.Record{}, false, first, now)
			for i, c := range steps {
				c.ID = store.NewChangeID()
				c.Now = now.Add(time.Duration(i+1) * time.Second)
				c.Expires = now.Add(time.Hour + time.Duration(i+1)*time.Minute)
				var err error
				if want, err = store.Merge(want, true, c, time.Now()); err != nil {
					t.Fatalf("step %d: Merge: %v", i, err)
				}
				byOld := (i%2 == 0) == oldFirst
				apply := func(old bool) error {
					if old {
						return legacyApply(ctx, s, legacy, key, c)
					}
					return s.Apply(ctx, key, c)
				}
				if err := apply(byOld); err != nil {
					t.Fatalf("step %d (old %v): %v", i, byOld, err)
				}
				if err := apply(!byOld); err != nil { // the same change again, by the other
					t.Fatalf("step %d repeated (old %v): %v", i, !byOld, err)
				}
				got := mustLoad(t, s, key)
				if !equalValues(got.Values, want.Values) {
					t.Fatalf("step %d (old %v): values = %q, want %q", i, byOld, got.Values, want.Values)
				}
				if got.UserID != want.UserID || got.IP != want.IP || got.UserAgent != want.UserAgent ||
					!got.Expires.Equal(want.Expires) || !got.LastSeen.Equal(want.LastSeen) || !got.Created.Equal(want.Created) {
					t.Errorf("step %d (old %v): metadata %+v, want %+v", i, byOld, got, want)
				}
				n, err := s.client.HGet(ctx, s.recordKey(key), fieldSize).Int()
				if err != nil || n != store.Size(want.Values) {
					t.Errorf("step %d (old %v): _n = %d, %v; want %d", i, byOld, n, err, store.Size(want.Values))
				}
				entries, err := s.UserSessions(ctx, "bob")
				wantKeys := []string(nil)
				if want.UserID == "bob" {
					wantKeys = []string{key}
				}
				if err != nil || !slices.Equal(keysOf(entries), wantKeys) {
					t.Errorf("step %d (old %v): UserSessions = %v, %v; want %v", i, byOld, keysOf(entries), err, wantKeys)
				}
			}
		})
	}
}

// TestIncrementEdges adds every pair of numbers around the edges of the
// script's arithmetic (0, the nine-digit limbs, 2^53, 15 digits, the int64
// bounds) and compares with store.AddInt: the same sums, the same overflows.
func TestIncrementEdges(t *testing.T) {
	edges := []int64{0, 1, -1, 999_999_999, -999_999_999, 1_000_000_000, -1_000_000_000,
		1 << 53, -(1 << 53), 1<<53 - 1, 999_999_999_999_999, 1_000_000_000_000_000, -1_000_000_000_000_000,
		9_999_999_999_999_999, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1,
		-4_611_686_018_427_387_904, 4_611_686_018_427_387_904}
	s := newSingle(t, Options{})
	ctx := context.Background()
	key := mustCreate(t, s, store.Change{})
	for _, v := range edges {
		vs := strconv.FormatInt(v, 10)
		for _, by := range edges {
			if err := s.Apply(ctx, key, store.Change{Set: values("n", vs)}); err != nil {
				t.Fatal(err)
			}
			want, wantErr := store.AddInt([]byte(vs), by)
			err := s.Apply(ctx, key, store.Change{Incr: map[string]int64{"n": by}})
			got := string(mustLoad(t, s, key).Values["n"])
			switch {
			case wantErr != nil && !errors.Is(err, store.ErrNotNumber):
				t.Errorf("%d + %d: got %v, want ErrNotNumber", v, by, err)
			case wantErr != nil && got != vs:
				t.Errorf("%d + %d failed but changed the value to %s", v, by, got)
			case wantErr == nil && (err != nil || got != strconv.FormatInt(want, 10)):
				t.Errorf("%d + %d = %s, %v; want %d", v, by, got, err, want)
			}
		}
	}
}

// TestCreateKeepsItsID checks which creates keep their change ID in the
// record (_i) instead of a marker key: an anonymous session that outlives
// the retry window does, and its first update removes the ID; a user's
// session, a short-lived one, a create without an ID and a rename's target
// use a marker (or nothing). A repeat of each create answers nil.
func TestCreateKeepsItsID(t *testing.T) {
	long := time.Hour
	tests := []struct {
		name   string
		c      store.Change
		marker bool // a marker key, not _i
	}{
		{"an anonymous session", store.Change{Set: values("a", "1")}, false},
		{"a session that logs in", store.Change{Set: values("a", "1"), SetUser: true, UserID: "eve"}, true},
		{"a session with no user", store.Change{Set: values("a", "1"), SetUser: true}, false},
		{"a session shorter than the retry window", store.Change{Set: values("a", "1"), Expires: time.Now().Add(store.RetryWindow - time.Second)}, true},
	}
	s := newSingle(t, Options{})
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := newKey()
			c := tt.c
			c.Create, c.ID = true, store.NewChangeID()
			if c.Expires.IsZero() {
				c.Expires = time.Now().Add(long)
			}
			for i := range 2 {
				if err := s.Apply(ctx, key, c); err != nil {
					t.Fatalf("create %d: %v", i+1, err)
				}
			}
			id, _ := s.client.HGet(ctx, s.recordKey(key), "_i").Result()
			n, _ := s.client.Exists(ctx, s.markerKey(key, markChange, c.ID)).Result()
			if tt.marker && (id != "" || n != 1) || !tt.marker && (id != c.ID || n != 0) {
				t.Errorf("_i = %q, marker keys %d; want a marker %v", id, n, tt.marker)
			}
			if err := s.Apply(ctx, key, store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"n": 1}}); err != nil {
				t.Fatal(err)
			}
			if id, err := s.client.HGet(ctx, s.recordKey(key), "_i").Result(); err == nil {
				t.Errorf("_i = %q after an update, want it gone", id)
			}
			c.ID = store.NewChangeID()
			if err := s.Apply(ctx, key, c); !errors.Is(err, store.ErrExists) {
				t.Errorf("another create: got %v, want ErrExists", err)
			}
		})
	}
	t.Run("a rename's target in a Cluster", func(t *testing.T) {
		s := newCluster(t, Options{})
		old := mustCreate(t, s, store.Change{Set: values("a", "1")})
		c := store.Change{ID: store.NewChangeID(), Expires: time.Now().Add(long)}
		newer := newKey()
		if err := s.Rename(ctx, old, newer, c); err != nil {
			t.Fatal(err)
		}
		if id, err := s.client.HGet(ctx, s.recordKey(newer), "_i").Result(); err == nil {
			t.Errorf("_i = %q in a renamed record", id)
		}
	})
}
