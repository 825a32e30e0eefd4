package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"modernc.org/sqlite"

	"github.com/sesamego/sesame/store"
)

func TestNewRefusesBadOptions(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tests := []struct {
		name    string
		db      *sql.DB
		dialect Dialect
		opts    Options
		wantErr string
	}{
		{"a nil database", nil, SQLite, Options{}, "nil *sql.DB"},
		{"the zero dialect", db, 0, Options{}, "unknown dialect"},
		{"an unknown dialect", db, 42, Options{}, "unknown dialect"},
		{"a table name with a quote", db, SQLite, Options{Table: `s"; DROP TABLE x; --`}, "not an identifier"},
		{"a table name with a dot", db, SQLite, Options{Table: "public.sessions"}, "not an identifier"},
		{"a table name starting with a digit", db, SQLite, Options{Table: "1sessions"}, "not an identifier"},
		{"a table name of 45 characters", db, SQLite, Options{Table: strings.Repeat("s", 45)}, "not an identifier"},
		{"a table name with non-ASCII letters", db, SQLite, Options{Table: "sessiöns"}, "not an identifier"},
		{"a negative record size", db, SQLite, Options{MaxRecordSize: -1}, "negative MaxRecordSize"},
		{"a negative prune batch", db, SQLite, Options{PruneBatchSize: -1}, "negative PruneBatchSize"},
		{"the defaults", db, SQLite, Options{}, ""},
		{"a reserved word as table name", db, Postgres, Options{Table: "order"}, ""},
		{"a table name of 44 characters", db, MySQL, Options{Table: strings.Repeat("s", 44)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.db, tt.dialect, tt.opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			case tt.wantErr == "" && s == nil:
				t.Fatal("got a nil store")
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	db, _ := sql.Open("sqlite", filepath.Join(t.TempDir(), "x.db"))
	defer db.Close()
	s, err := New(db, SQLite, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Table() != DefaultTable || s.threshold != store.DefaultCompressThreshold ||
		s.maxSize != store.DefaultMaxRecordSize || s.batch != DefaultPruneBatchSize || s.Dialect() != SQLite || s.DB() != db {
		t.Errorf("got table %q, threshold %d, max %d, batch %d, dialect %v; want the defaults",
			s.Table(), s.threshold, s.maxSize, s.batch, s.Dialect())
	}
	s, _ = New(db, SQLite, Options{CompressThreshold: -1})
	if s.threshold != 0 {
		t.Errorf("negative CompressThreshold: got threshold %d, want 0 (never)", s.threshold)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err != nil {
		t.Errorf("Close of a store from New closed the caller's database: %v", err)
	}
}

func TestSchema(t *testing.T) {
	for _, d := range []Dialect{Postgres, MySQL, SQLite} {
		t.Run(d.String(), func(t *testing.T) {
			stmts, err := Schema(d, "")
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(stmts, ";\n")
			for _, want := range []string{
				d.quote(DefaultTable), d.quote(DefaultTable + "_locks"), "IF NOT EXISTS",
				"id ", "data ", "user_id ", "ip ", "user_agent ", "created ", "last_seen ", "expires ",
				d.quote(DefaultTable + "_user_id_idx"), d.quote(DefaultTable + "_expires_idx"),
			} {
				if !strings.Contains(all, want) {
					t.Errorf("got schema without %q:\n%s", want, all)
				}
			}
		})
	}
	if _, err := Schema(0, ""); err == nil {
		t.Error("Schema of the zero dialect: got no error")
	}
	if _, err := Schema(Postgres, "bad name"); err == nil {
		t.Error("Schema of a bad table name: got no error")
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{}) // migrated once already
		for i := range 2 {
			if err := s.Migrate(ctxT(t)); err != nil {
				t.Fatalf("migration %d: %v", i+2, err)
			}
		}
		create(t, s, newClock(), key("a"), map[string]string{"a": "1"})
	})
}

func TestMigrateConcurrently(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		// Several stores on one fresh table migrate at once.
		fresh, err := New(s.db, s.dialect, Options{Table: tableName()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			for _, tb := range tables(fresh) {
				s.db.Exec("DROP TABLE IF EXISTS " + s.dialect.quote(tb))
			}
		})
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() { errs <- fresh.Migrate(ctxT(t)) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent Migrate: %v", err)
			}
		}
	})
}

// TestReservedWordTable uses a reserved word as the table name, which works
// because every statement quotes it. Only on SQLite: a fixed name on a
// shared server would collide with parallel runs.
func TestReservedWordTable(t *testing.T) {
	s := openSQLite(t, Options{Table: "order"})
	c := newClock()
	create(t, s, c, key("a"), map[string]string{"a": "1"})
	mustApply(t, s, key("a"), store.Change{Incr: map[string]int64{"a": 1}})
	if got := string(mustLoad(t, s, key("a")).Values["a"]); got != "2" {
		t.Errorf("got a = %s, want 2", got)
	}
	if _, err := s.Prune(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.List(ctxT(t), func(store.Entry) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// Every statement of every dialect quotes the table.
	for _, d := range []Dialect{Postgres, MySQL, SQLite} {
		q := buildQueries(d, "order", 10)
		for _, stmt := range []string{q.load, q.lockRow, q.update, q.updateData, q.insert, q.deleteExpiredKey,
			q.deleteKey, q.exists, q.listPage, q.userSessions, q.deleteUser, q.prune, q.pruneLocks,
			q.lockInsert, q.lockDeleteExpired, q.unlock, q.touchPrefix} {
			if strings.Contains(stmt, " order ") || strings.Contains(stmt, " order_locks ") {
				t.Errorf("%v: unquoted table in %q", d, stmt)
			}
		}
	}
}

// TestLostUpdateProbe is the probe of issue 4: 100 goroutines each set a
// distinct key of one record at once, and all 100 must survive.
func TestLostUpdateProbe(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		c := newClock()
		k := key("probe")
		create(t, s, c, k, nil)
		const n = 100
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				<-start
				errs <- s.Apply(ctxT(t), k, store.Change{Set: map[string][]byte{fmt.Sprintf("k%03d", i): []byte(fmt.Sprint(i))}})
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Apply: %v", err)
			}
		}
		rec := mustLoad(t, s, k)
		lost := 0
		for i := range n {
			if string(rec.Values[fmt.Sprintf("k%03d", i)]) != fmt.Sprint(i) {
				lost++
			}
		}
		t.Logf("lost-update probe: %d of %d writes lost", lost, n)
		if lost != 0 {
			t.Errorf("got %d of %d concurrent writes lost, want 0", lost, n)
		}
	})
}

// TestTouchTwiceAtTheSameTime checks that a touch that rewrites identical
// values succeeds: MySQL reports 0 changed rows for it.
func TestTouchTwiceAtTheSameTime(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		c := newClock()
		k := key("touch")
		create(t, s, c, k, map[string]string{"a": "1"})
		touch := store.Change{Now: c.now(), Expires: c.now().Add(2 * time.Hour), SetUser: true, UserID: "u", IP: "ip", UserAgent: "ua"}
		for i := range 3 {
			if err := s.Apply(ctxT(t), k, touch); err != nil {
				t.Fatalf("touch %d: %v", i+1, err)
			}
		}
		rec := mustLoad(t, s, k)
		if !rec.Expires.Equal(c.now().Add(2*time.Hour)) || rec.UserID != "u" {
			t.Errorf("got expiry %v and user %q, want %v and u", rec.Expires, rec.UserID, c.now().Add(2*time.Hour))
		}
		// And a touch of a missing record is still not found.
		err := s.Apply(ctxT(t), key("missing"), touch)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("touch of a missing record: got %v, want ErrNotFound", err)
		}
	})
}

func TestTimesKeepMicroseconds(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("X", 3600))
		s.now = func() time.Time { return at }
		k := key("times")
		mustApply(t, s, k, store.Change{Create: true, Now: at, Expires: at.Add(time.Hour)})
		rec := mustLoad(t, s, k)
		want := at.Truncate(time.Microsecond)
		if !rec.Created.Equal(want) || !rec.LastSeen.Equal(want) || !rec.Expires.Equal(want.Add(time.Hour)) {
			t.Errorf("got created %v, last seen %v, expires %v, want %v and an hour later",
				rec.Created, rec.LastSeen, rec.Expires, want)
		}
		if rec.Created.Location() != time.UTC {
			t.Errorf("got location %v, want UTC", rec.Created.Location())
		}
	})
}

// TestStoreClockDecidesExpiry moves the store's clock, not the change's.
func TestStoreClockDecidesExpiry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		c := newClock()
		s.now = c.now
		k := key("clock")
		create(t, s, c, k, map[string]string{"a": "1"}) // expires in an hour
		c.add(59 * time.Minute)
		mustLoad(t, s, k)
		c.add(time.Minute) // expiry is not after now: gone
		if _, ok, err := s.Load(ctxT(t), k); ok || err != nil {
			t.Fatalf("Load at expiry: got %v, %v, want false, nil", ok, err)
		}
		for _, ch := range []store.Change{
			{Set: map[string][]byte{"a": []byte("2")}},
			{Expires: c.now().Add(time.Hour)},
			{Now: c.now().Add(-time.Hour), Incr: map[string]int64{"n": 1}},
		} {
			if err := s.Apply(ctxT(t), k, ch); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Apply(%+v) after expiry: got %v, want ErrNotFound", ch, err)
			}
		}
		// A create replaces the expired row.
		create(t, s, c, k, map[string]string{"b": "1"})
		if rec := mustLoad(t, s, k); len(rec.Values) != 1 || string(rec.Values["b"]) != "1" {
			t.Errorf("got values %q, want only b", rec.Values)
		}
	})
}

func TestTooLargeNamesTheSize(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{MaxRecordSize: 100})
		c := newClock()
		k := key("large")
		create(t, s, c, k, map[string]string{"a": "1"})
		err := s.Apply(ctxT(t), k, store.Change{Set: map[string][]byte{"big": []byte(`"` + strings.Repeat("x", 100) + `"`)}})
		if !errors.Is(err, store.ErrTooLarge) || !strings.Contains(err.Error(), "session of 107 bytes is over the limit of 100 bytes") {
			t.Fatalf("got %v, want ErrTooLarge naming 107 and 100 bytes", err)
		}
		if rec := mustLoad(t, s, k); len(rec.Values) != 1 {
			t.Errorf("got values %q, want the stored record kept", rec.Values)
		}
	})
}

func TestUserMetadata(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		c := newClock()
		k := key("meta")
		create(t, s, c, k, nil)
		for _, bad := range []string{strings.Repeat("u", 256), "nul\x00user", "bad\xffutf8"} {
			err := s.Apply(ctxT(t), k, store.Change{SetUser: true, UserID: bad})
			if err == nil || errors.Is(err, store.ErrUnavailable) {
				t.Errorf("user ID %q: got %v, want a validation error", bad, err)
			}
		}
		longUA := strings.Repeat("é", 3000) // 6000 bytes
		mustApply(t, s, k, store.Change{SetUser: true, UserID: strings.Repeat("u", 255), IP: "10.0.0.1\x00", UserAgent: "Mozilla\xff/5.0 " + longUA})
		rec := mustLoad(t, s, k)
		if rec.UserID != strings.Repeat("u", 255) || rec.IP != "10.0.0.1\uFFFD" || !strings.HasPrefix(rec.UserAgent, "Mozilla\uFFFD/5.0 éé") {
			t.Errorf("got user %q, IP %q, user agent %.20q, want them stored cleaned", rec.UserID, rec.IP, rec.UserAgent)
		}
		if len(rec.UserAgent) > maxUserAgent || !strings.HasSuffix(rec.UserAgent, "é") {
			t.Errorf("got a user agent of %d bytes ending in %q, want at most %d, cut at a rune", len(rec.UserAgent), rec.UserAgent[len(rec.UserAgent)-2:], maxUserAgent)
		}
		// User IDs compare byte for byte, not case-insensitively.
		mustApply(t, s, k, store.Change{SetUser: true, UserID: "Alice"})
		if got, _ := s.UserSessions(ctxT(t), "alice"); len(got) != 0 {
			t.Errorf("UserSessions(alice): got %d sessions of Alice, want 0", len(got))
		}
		if got, _ := s.UserSessions(ctxT(t), "Alice"); len(got) != 1 {
			t.Errorf("UserSessions(Alice): got %d, want 1", len(got))
		}
	})
}

func TestCleanText(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain text is kept", "Firefox", 10, "Firefox"},
		{"invalid UTF-8 is replaced", "a\xffb", 10, "a\uFFFDb"},
		{"NUL is replaced", "a\x00b", 10, "a\uFFFDb"},
		{"long text is cut", "abcdef", 3, "abc"},
		{"a cut never splits a rune", "aé", 2, "a"},
		{"the empty string", "", 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanText(tt.in, tt.max); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTake(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		c := newClock()
		k := key("take")
		create(t, s, c, k, map[string]string{"_flash": `{"notice":"hi"}`, "a": "1"})
		before := mustLoad(t, s, k)
		v, ok, err := s.Take(ctxT(t), k, "_flash", "")
		if err != nil || !ok || string(v) != `{"notice":"hi"}` {
			t.Fatalf("Take: got %q, %v, %v, want the flash", v, ok, err)
		}
		after := mustLoad(t, s, k)
		if _, still := after.Values["_flash"]; still || string(after.Values["a"]) != "1" {
			t.Errorf("after Take: got values %q, want only a", after.Values)
		}
		if !after.LastSeen.Equal(before.LastSeen) || !after.Expires.Equal(before.Expires) {
			t.Errorf("Take changed the times")
		}
		for name, kk := range map[string]string{"a missing field": k, "a missing record": key("none")} {
			if v, ok, err := s.Take(ctxT(t), kk, "_flash", ""); ok || err != nil || v != nil {
				t.Errorf("%s: got %q, %v, %v, want nil, false, nil", name, v, ok, err)
			}
		}
		if _, _, err := s.Take(ctxT(t), "bad", "x", ""); !errors.Is(err, store.ErrMalformedKey) {
			t.Errorf("malformed key: got %v, want ErrMalformedKey", err)
		}

		// Of 20 racing takers, exactly one gets the value.
		mustApply(t, s, k, store.Change{Set: map[string][]byte{"_flash": []byte(`"once"`)}})
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := 0
		for range 20 {
			wg.Go(func() {
				_, ok, err := s.Take(ctxT(t), k, "_flash", "")
				if err != nil {
					t.Errorf("Take: %v", err)
				}
				if ok {
					mu.Lock()
					got++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if got != 1 {
			t.Errorf("got the flash %d times, want once", got)
		}
	})
}

func TestPruneInBatches(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{PruneBatchSize: 7})
		c := newClock()
		s.now = c.now
		var live []string
		for i := range 30 {
			k := key(fmt.Sprint("prune", i))
			ch := store.Change{Create: true, Expires: c.now().Add(time.Minute)}
			if i%6 == 0 {
				ch.Expires = c.now().Add(time.Hour)
				live = append(live, k)
			}
			mustApply(t, s, k, ch)
		}
		for i := range 10 {
			if ok, err := s.TryLock(ctxT(t), key(fmt.Sprint("lock", i)), "t", time.Minute); !ok || err != nil {
				t.Fatalf("TryLock: %v, %v", ok, err)
			}
		}
		if n, err := s.Prune(ctxT(t)); n != 0 || err != nil {
			t.Fatalf("Prune before expiry: got %d, %v, want 0, nil", n, err)
		}
		c.add(2 * time.Minute)
		n, err := s.Prune(ctxT(t))
		if n != 25 || err != nil {
			t.Fatalf("Prune: got %d, %v, want 25, nil", n, err)
		}
		var rows, locks int
		s.db.QueryRow("SELECT COUNT(*) FROM " + s.dialect.quote(s.table)).Scan(&rows)
		s.db.QueryRow("SELECT COUNT(*) FROM " + s.dialect.quote(s.table+"_locks")).Scan(&locks)
		if rows != len(live) || locks != 0 {
			t.Errorf("after Prune: got %d rows and %d locks, want %d and 0", rows, locks, len(live))
		}
		for _, k := range live {
			mustLoad(t, s, k)
		}
	})
}

func TestStartPruner(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		c := newClock()
		s.now = c.now
		k := key("expired")
		create(t, s, c, k, nil)
		c.add(2 * time.Hour)
		stop := s.StartPruner(5 * time.Millisecond)
		// Wait for the background prune to delete the row (not for expiry:
		// the clock moved already).
		deadline := time.Now().Add(10 * time.Second)
		for {
			var n int
			if err := s.db.QueryRow("SELECT COUNT(*) FROM " + s.dialect.quote(s.table)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the pruner did not delete the expired row in 10s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		stopped := make(chan struct{})
		go func() {
			stop()
			stop() // a second stop is harmless
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatal("stop did not return")
		}
	})
}

func TestStartPrunerPanicsOnBadInterval(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("got no panic, want one")
		}
	}()
	(&Store{}).StartPruner(0)
}

func TestListPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		c := newClock()
		want := map[string]bool{}
		n := 2*listPageSize + 7
		for i := range n {
			k := key(fmt.Sprint("list", i))
			create(t, s, c, k, map[string]string{"i": fmt.Sprint(i)})
			want[k] = true
		}
		mustApply(t, s, key("gone"), store.Change{Create: true, Expires: c.now().Add(-time.Second)})
		seen := map[string]bool{}
		err := s.List(ctxT(t), func(e store.Entry) error {
			if seen[e.Key] {
				t.Errorf("key %.8s listed twice", e.Key)
			}
			seen[e.Key] = true
			if !want[e.Key] {
				t.Errorf("got key %.8s, which is not a live record", e.Key)
			}
			// The callback may write through the store, even on SQLite.
			return s.Delete(ctxT(t), e.Key)
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != n {
			t.Errorf("got %d records listed, want %d", len(seen), n)
		}
	})
}

func TestListOnInMemorySQLite(t *testing.T) {
	// One connection only: List must not hold it while calling back.
	s, err := Open(ctxT(t), "sqlite::memory:", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	c := newClock()
	for i := range 5 {
		create(t, s, c, key(fmt.Sprint(i)), map[string]string{"n": "0"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	calls := 0
	err = s.List(ctx, func(e store.Entry) error {
		calls++
		if _, _, err := s.Load(ctx, e.Key); err != nil {
			return err
		}
		return s.Apply(ctx, e.Key, store.Change{Incr: map[string]int64{"n": 1}})
	})
	if err != nil || calls != 5 {
		t.Fatalf("got %d calls, %v, want 5, nil", calls, err)
	}
}

func TestLockExpiresWithTheStoreClock(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		c := newClock()
		s.now = c.now
		k := key("lock")
		try := func(token string, want bool) {
			t.Helper()
			if got, err := s.TryLock(ctxT(t), k, token, time.Minute); got != want || err != nil {
				t.Fatalf("TryLock(%s): got %v, %v, want %v", token, got, err, want)
			}
		}
		try("a", true)
		c.add(59 * time.Second)
		try("b", false)
		c.add(time.Second)
		try("b", true)
		if err := s.Unlock(ctxT(t), k, "a"); err != nil { // a stale holder
			t.Fatal(err)
		}
		try("c", false)
		for _, bad := range []struct {
			token string
			ttl   time.Duration
		}{{"", time.Minute}, {strings.Repeat("t", 256), time.Minute}, {"t", 0}, {"t", -time.Second}} {
			if _, err := s.TryLock(ctxT(t), key("other"), bad.token, bad.ttl); err == nil {
				t.Errorf("TryLock(%d-byte token, %v): got no error", len(bad.token), bad.ttl)
			}
		}
	})
}

// TestSQLiteWritersNeverBusy runs concurrent writers through two stores on
// one SQLite file (two pools, as two processes would have), so that the
// stores' own write lock does not serialise them: SQLite's busy timeout
// must.
func TestSQLiteWritersNeverBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	var stores []*Store
	for range 2 {
		s, err := Open(ctxT(t), "sqlite:"+path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Migrate(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	c := newClock()
	k := key("busy")
	create(t, stores[0], c, k, nil)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := stores[i%2]
			if err := s.Apply(ctxT(t), k, store.Change{Incr: map[string]int64{"n": 1}}); err != nil {
				t.Errorf("Apply: %v", err)
			}
			if err := s.Apply(ctxT(t), key(fmt.Sprint("new", i)), store.Change{Create: true, Expires: c.now().Add(time.Hour)}); err != nil {
				t.Errorf("create: %v", err)
			}
			if _, _, err := s.Load(ctxT(t), k); err != nil {
				t.Errorf("Load: %v", err)
			}
		})
	}
	wg.Wait()
	if got := string(mustLoad(t, stores[1], k).Values["n"]); got != fmt.Sprint(n) {
		t.Errorf("got n = %s, want %d", got, n)
	}
}

// TestSQLitePlainDSN runs concurrent readers and writers on a store made
// with New on a database opened without any pragma: the store's write lock
// and the WAL mode that Migrate sets must keep SQLITE_BUSY away.
func TestSQLitePlainDSN(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "plain.db"))
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t, db, SQLite, Options{})
	c := newClock()
	k := key("plain")
	create(t, s, c, k, nil)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, _, err := s.Load(ctxT(t), k); err != nil {
				t.Errorf("Load: %v", err)
			}
			if err := s.Apply(ctxT(t), k, store.Change{Incr: map[string]int64{"n": 1}}); err != nil {
				t.Errorf("Apply: %v", err)
			}
			if err := s.Apply(ctxT(t), key(fmt.Sprint("p", i)), store.Change{Create: true, Expires: c.now().Add(time.Hour)}); err != nil {
				t.Errorf("create: %v", err)
			}
			if err := s.List(ctxT(t), func(store.Entry) error { return nil }); err != nil {
				t.Errorf("List: %v", err)
			}
		})
	}
	wg.Wait()
	if got := string(mustLoad(t, s, k).Values["n"]); got != fmt.Sprint(n) {
		t.Errorf("got n = %s, want %d", got, n)
	}
}

// syncBuffer is a bytes.Buffer safe for the pruner goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestStartPrunerLogsErrors(t *testing.T) {
	var buf syncBuffer
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(db, SQLite, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	db.Close() // every prune fails
	stop := s.StartPruner(time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(buf.String(), "background prune failed") {
		if time.Now().After(deadline) {
			t.Fatalf("got log %q, want the prune error", buf.String())
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	if !strings.Contains(buf.String(), "store: unavailable") {
		t.Errorf("got log %q, want the error named", buf.String())
	}
}

// TestSQLiteBusyIsRetriedNotUnknown: SQLite runs in the process, so a write
// that failed with SQLITE_BUSY took no effect: it is retried, and never
// reported as an unknown outcome (CI once saw a create fail so under load).
func TestSQLiteBusyIsRetriedNotUnknown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t, db, SQLite, Options{})
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	conn, err := other.Conn(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctxT(t), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	// A statement on the store's database now gets SQLITE_BUSY.
	_, busyErr := db.ExecContext(ctxT(t), "CREATE TABLE busy_probe (x INTEGER)")
	var se *sqlite.Error
	if !errors.As(busyErr, &se) || se.Code()&0xff != 5 {
		t.Fatalf("got %v, want SQLITE_BUSY (5)", busyErr)
	}
	if s.maybeApplied(ctxT(t), busyErr) || !s.isRetryable(busyErr) {
		t.Errorf("SQLITE_BUSY: maybeApplied %v, isRetryable %v; want false, true", s.maybeApplied(ctxT(t), busyErr), s.isRetryable(busyErr))
	}
	// Released a little later: the store's create waits and succeeds.
	released := make(chan struct{})
	go func() {
		defer close(released)
		time.Sleep(20 * time.Millisecond)
		conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
	}()
	c := newClock()
	err = s.Apply(ctxT(t), key("busy"), store.Change{Create: true, Expires: c.now().Add(time.Hour)})
	<-released
	if errors.Is(err, store.ErrOutcomeUnknown) {
		t.Errorf("a create that met SQLITE_BUSY: %v, want no unknown outcome", err)
	}
}
