package redisstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

// renameModes are the two ways Rename works: one script on a single node,
// and the steps a Cluster needs (also run on a single node here).
var renameModes = []struct {
	name string
	new  func(t testing.TB) *Store
}{
	{"single atomic", func(t testing.TB) *Store { return newSingle(t, Options{}) }},
	{"single in steps", func(t testing.TB) *Store {
		s := newSingle(t, Options{})
		s.atomicRename = false
		return s
	}},
	{"cluster in steps", func(t testing.TB) *Store { return newCluster(t, Options{}) }},
}

func TestRename(t *testing.T) {
	for _, mode := range renameModes {
		t.Run(mode.name, func(t *testing.T) {
			s := mode.new(t)
			ctx := context.Background()
			born := time.Now().Add(-time.Hour)
			exp := time.Now().Add(time.Hour)

			t.Run("moves the record and applies the change", func(t *testing.T) {
				old := mustCreate(t, s, store.Change{Set: values("a", "1", "n", "1", "gone", "x"), Now: born, Expires: exp,
					SetUser: true, UserID: "frank", IP: "192.0.2.1", UserAgent: "ua"})
				newK := newKey()
				at := time.Now()
				err := s.Rename(ctx, old, newK, store.Change{Create: true, Set: values("b", "2"), Delete: []string{"gone"},
					Incr: map[string]int64{"n": 2}, Now: at, Expires: exp.Add(time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				if _, ok, _ := s.Load(ctx, old); ok {
					t.Error("the old key still loads")
				}
				if err := s.Apply(ctx, old, store.Change{Set: values("late", "1")}); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("change to the old key: err = %v, want ErrNotFound", err)
				}
				rec := mustLoad(t, s, newK)
				if !equalValues(rec.Values, values("a", "1", "n", "3", "b", "2")) {
					t.Errorf("values = %q", rec.Values)
				}
				if !rec.Created.Equal(born) || !rec.LastSeen.Equal(at) || !rec.Expires.Equal(exp.Add(time.Hour)) ||
					rec.UserID != "frank" || rec.IP != "192.0.2.1" || rec.UserAgent != "ua" {
					t.Errorf("metadata = %+v", rec)
				}
				if pttl, _ := s.client.PTTL(ctx, s.recordKey(newK)).Result(); pttl < time.Hour {
					t.Errorf("new key PTTL = %v, want about 2h", pttl)
				}
				if n, _ := s.client.Exists(ctx, s.recordKey(old)).Result(); n != 0 {
					t.Error("the old record is still in Redis")
				}
				got, err := s.UserSessions(ctx, "frank")
				if err != nil || !slices.Equal(keysOf(got), []string{newK}) {
					t.Errorf("frank's sessions = %v, %v; want the new key only", keysOf(got), err)
				}
			})
			t.Run("logs in while renaming", func(t *testing.T) {
				old := mustCreate(t, s, store.Change{Set: values("a", "1"), Expires: exp})
				newK := newKey()
				if err := s.Rename(ctx, old, newK, store.Change{SetUser: true, UserID: "grace"}); err != nil {
					t.Fatal(err)
				}
				got, err := s.UserSessions(ctx, "grace")
				if err != nil || !slices.Equal(keysOf(got), []string{newK}) {
					t.Errorf("grace's sessions = %v, %v; want the new key", keysOf(got), err)
				}
			})
			t.Run("missing old key", func(t *testing.T) {
				newK := newKey()
				if err := s.Rename(ctx, newKey(), newK, store.Change{}); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("err = %v, want ErrNotFound", err)
				}
				if n, _ := s.client.Exists(ctx, s.recordKey(newK)).Result(); n != 0 {
					t.Error("the new key was written")
				}
			})
			failures := []struct {
				name   string
				target func(t *testing.T) string
				c      store.Change
				want   error
			}{
				{"new key taken", func(t *testing.T) string { return mustCreate(t, s, store.Change{Set: values("other", "1")}) },
					store.Change{Set: values("b", "2")}, store.ErrExists},
				{"increment of a string", func(*testing.T) string { return newKey() },
					store.Change{Set: values("b", "2"), Incr: map[string]int64{"a": 1}}, store.ErrNotNumber},
				{"too large", func(*testing.T) string { return newKey() },
					store.Change{Set: map[string][]byte{"big": make([]byte, store.DefaultMaxRecordSize)}}, store.ErrTooLarge},
			}
			for _, f := range failures {
				t.Run(f.name+" changes nothing", func(t *testing.T) {
					old := mustCreate(t, s, store.Change{Set: values("a", `"s"`), Expires: exp})
					before := mustLoad(t, s, old)
					newK := f.target(t)
					var target store.Record
					if _, ok, _ := s.Load(ctx, newK); ok {
						target = mustLoad(t, s, newK)
					}
					if err := s.Rename(ctx, old, newK, f.c); !errors.Is(err, f.want) {
						t.Fatalf("err = %v, want %v", err, f.want)
					}
					after := mustLoad(t, s, old)
					if !equalValues(after.Values, before.Values) || !after.LastSeen.Equal(before.LastSeen) {
						t.Errorf("old record changed: %+v", after)
					}
					if pttl, _ := s.client.PTTL(ctx, s.recordKey(old)).Result(); pttl < 50*time.Minute {
						t.Errorf("old record PTTL = %v, want its hour back", pttl)
					}
					if err := s.Apply(ctx, old, store.Change{Set: values("c", "3")}); err != nil {
						t.Errorf("the old record takes no more changes: %v", err)
					}
					rec, ok, _ := s.Load(ctx, newK)
					if target.Values == nil && ok {
						t.Errorf("the new key was written")
					}
					if target.Values != nil && !equalValues(rec.Values, target.Values) {
						t.Errorf("the record under the new key changed")
					}
				})
			}
		})
	}
}

// TestMovingRecordIsInvisible checks the window of a Cluster rename: once
// the record is marked as moving, it loads as missing, takes no changes, is
// not listed, and Prune leaves it to the renamer.
func TestMovingRecordIsInvisible(t *testing.T) {
	s := newSingle(t, Options{})
	ctx := context.Background()
	key := mustCreate(t, s, store.Change{Set: values("a", "1"), SetUser: true, UserID: "heidi", Expires: time.Now().Add(time.Hour)})
	if err := moveScript.Run(ctx, s.client, []string{s.recordKey(key), s.markerKey(key, markChange, "")}, formatNanos(time.Now()), newKey(), 60000, "").Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Load(ctx, key); ok || err != nil {
		t.Errorf("Load = %v, %v; want missing", ok, err)
	}
	if err := s.Apply(ctx, key, store.Change{Set: values("b", "1")}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Apply: err = %v, want ErrNotFound", err)
	}
	if v, ok, err := s.Take(ctx, key, "a", ""); ok || err != nil {
		t.Errorf("Take = %q, %v, %v; want nothing", v, ok, err)
	}
	if got, _ := s.UserSessions(ctx, "heidi"); len(got) != 0 {
		t.Errorf("UserSessions lists it")
	}
	err := s.List(ctx, func(e store.Entry) error {
		if e.Key == key {
			t.Error("List lists it")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(ctx); n != 0 || err != nil {
		t.Errorf("Prune = %d, %v", n, err)
	}
	if pttl, _ := s.client.PTTL(ctx, s.recordKey(key)).Result(); pttl > time.Minute {
		t.Errorf("PTTL = %v, want at most a minute", pttl)
	}
}
