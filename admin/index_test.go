package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"
)

// newTestIndex returns an index over st whose sessions end an hour after
// they were last seen.
func newTestIndex(st store.Lister, max int) *index {
	return &index{
		lister: st, maxAge: time.Minute, max: max, timeout: time.Minute, now: time.Now,
		ends: func(rec store.Record) time.Time { return rec.LastSeen.Add(time.Hour) },
	}
}

func TestIndexListsLiveSessionsOnly(t *testing.T) {
	st := memstore.New()
	ctx := context.Background()
	now := time.Now()
	apply := func(id string, c store.Change) {
		t.Helper()
		c.Create = true
		if c.Expires.IsZero() {
			c.Expires = now.Add(3 * time.Hour)
		}
		if err := st.Apply(ctx, store.Key(id), c); err != nil {
			t.Fatal(err)
		}
	}
	apply("live", store.Change{Now: now, SetUser: true, UserID: "bob", Set: map[string][]byte{"k": []byte("12"), "__remember": []byte(`"sel"`)}})
	apply("anonymous", store.Change{Now: now.Add(-time.Minute)})
	apply("idle", store.Change{Now: now.Add(-2 * time.Hour), SetUser: true, UserID: "bob"}) // the store keeps it, the manager would not
	apply("tombstone", store.Change{Now: now, Set: map[string][]byte{store.GoneField: []byte("1")}})

	ix := newTestIndex(st, 100)
	snap, err := ix.list(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.total != 2 || snap.withUser != 1 || len(snap.byLastSeen) != 2 {
		t.Fatalf("indexed %d sessions (%d with a user), want 2 live ones (1 with a user)", snap.total, snap.withUser)
	}
	first := snap.byLastSeen[0]
	if first.hash() != store.Key("live") || first.user != "bob" || !first.remembered || first.size != 1+2+10+5 {
		t.Errorf("first entry = %+v, want the live session of bob, remembered, 18 bytes", first)
	}
	if got := snap.sessionsOf("bob"); len(got) != 1 || got[0].hash() != store.Key("live") {
		t.Errorf("sessionsOf(bob) = %v, want the live one only", got)
	}
	if len(snap.users) != 1 || snap.users[0].ID != "bob" || snap.users[0].Sessions != 1 {
		t.Errorf("users = %+v", snap.users)
	}
}

func TestIndexBoundsItsSize(t *testing.T) {
	st := memstore.New()
	fill(t, st, 25, 0)
	snap, err := newTestIndex(st, 10).list(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.total != 25 || len(snap.byLastSeen) != 10 || !snap.truncated {
		t.Errorf("total %d, indexed %d, truncated %v; want 25 counted, 10 indexed, truncated", snap.total, len(snap.byLastSeen), snap.truncated)
	}
}

// failingLister fails every List.
type failingLister struct{}

func (failingLister) List(context.Context, func(store.Entry) error) error {
	return fmt.Errorf("disk gone: %w", store.ErrUnavailable)
}

func TestIndexBuildsInTheBackground(t *testing.T) {
	st := memstore.New()
	fill(t, st, 5, 0)
	ix := newTestIndex(st, 100)
	got := ix.get(time.Minute) // waits for the first build
	if got.snap == nil || got.snap.total != 5 || got.building {
		t.Fatalf("first get = %+v, want a built index of 5", got)
	}
	fill(t, st, 1, 5)
	if again := ix.get(0); again.snap != got.snap || again.building {
		t.Error("a young index was rebuilt")
	}
	ix.invalidate()
	ix.get(0)
	ix.wait()
	if now := ix.get(0); now.snap == got.snap || now.snap.total != 6 {
		t.Error("invalidate did not make the next get rebuild the index")
	}

	bad := newTestIndex(failingLister{}, 100)
	st1 := bad.get(time.Minute)
	if st1.snap != nil || !errors.Is(st1.err, store.ErrUnavailable) || !strings.HasPrefix(st1.err.Error(), "admin: ") {
		t.Fatalf("a failing store: %+v, want its error", st1)
	}
	if st2 := bad.get(0); st2.building {
		t.Error("a failing store is listed again on the next page view")
	}
}

func TestSnapshotPages(t *testing.T) {
	st := memstore.New()
	keys := fill(t, st, 23, 0)
	snap, err := newTestIndex(st, 100).list(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var c *cursor
	for range 10 {
		rows, next := snap.page(c, 5)
		for i := range rows {
			got = append(got, rows[i].hash())
		}
		if next == nil {
			break
		}
		back, err := parseCursor(next.String())
		if err != nil || back != *next {
			t.Fatalf("cursor %q does not round-trip: %v, %v", next, back, err)
		}
		c = &back
	}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(keys))) {
		t.Fatalf("paging listed %d sessions, want each of the %d once", len(got), len(keys))
	}
	for i := 1; i < len(snap.byLastSeen); i++ {
		if compareEntries(&snap.byLastSeen[i-1], &snap.byLastSeen[i]) >= 0 {
			t.Fatal("the list is not ordered by last seen, newest first")
		}
	}
	// A cursor whose session is gone still continues in order.
	gone := snap.byLastSeen[7]
	rows, _ := snap.page(&cursor{lastSeen: gone.lastSeen, key: gone.key}, 3)
	if rows[0].hash() != snap.byLastSeen[8].hash() {
		t.Error("a page after a cursor does not start just after it")
	}

	// Users: ID order, a prefix, pages.
	ids := func(us []userCount) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.ID)
		}
		return out
	}
	page1, next := snap.usersPage("user-1", "", 5)
	if want := []string{"user-1", "user-10", "user-11", "user-12", "user-13"}; !slices.Equal(ids(page1), want) || next != "user-13" {
		t.Errorf("first users page = %v, next %q; want %v, next user-13", ids(page1), next, want)
	}
	page2, next := snap.usersPage("user-1", next, 5)
	if want := []string{"user-14", "user-15", "user-16", "user-17", "user-18"}; !slices.Equal(ids(page2), want) || next != "user-18" {
		t.Errorf("second users page = %v, next %q; want %v", ids(page2), next, want)
	}
	page3, next := snap.usersPage("user-1", next, 5)
	if want := []string{"user-19"}; !slices.Equal(ids(page3), want) || next != "" {
		t.Errorf("last users page = %v, next %q; want %v and no next", ids(page3), next, want)
	}
}

func TestParseCursorRefusesGarbage(t *testing.T) {
	key := store.Key("x")
	for _, s := range []string{"", ".", "123", "123." + key[:63], "abc." + key, "+1." + key, "1." + strings.ToUpper(key), "1.." + key,
		"99999999999999999999." + key, "1." + key + "0", "007." + key, "-0." + key} {
		if _, err := parseCursor(s); !errors.Is(err, errCursor) {
			t.Errorf("parseCursor(%q) = %v, want errCursor", s, err)
		}
	}
	if c, err := parseCursor("-5." + key); err != nil || c.lastSeen != -5 {
		t.Errorf("a time before 1970 is a valid cursor: %v, %v", c, err)
	}
}

// FuzzParseCursor: a cursor that parses prints back as the same string, so
// nothing but the dashboard's own cursors are accepted.
func FuzzParseCursor(f *testing.F) {
	f.Add("1700000000000000000." + store.Key("x"))
	f.Add("0." + store.Key(""))
	f.Add("-1.")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCursor(s)
		if err != nil {
			return
		}
		if c.String() != s {
			t.Fatalf("parseCursor(%q) accepted a cursor that prints as %q", s, c.String())
		}
	})
}
