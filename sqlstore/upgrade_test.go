package sqlstore

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

// rawDB opens an empty database of engine e (a fresh file for SQLite; the
// test server otherwise), closed at cleanup.
func rawDB(t *testing.T, d Dialect) *sql.DB {
	t.Helper()
	var db *sql.DB
	switch d {
	case Postgres:
		db = postgresDB(t)
	case MySQL:
		db = mysqlDB(t)
	default:
		tg, err := parseTarget(filepath.Join(t.TempDir(), "sessions.db"))
		if err != nil {
			t.Fatal(err)
		}
		if db, err = tg.open(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// v0Schema returns the statements that sesame's Schema returned before the
// schema was versioned (testdata/v0, written by that version's Schema),
// for table.
func v0Schema(t testing.TB, d Dialect, table string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "v0", d.String()+".sql"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, st := range strings.Split(string(b), ";\n") {
		if st = strings.TrimSpace(st); st != "" {
			out = append(out, strings.ReplaceAll(st, "sesame_v0tmpl", table))
		}
	}
	return out
}

// v0Session is a session written the way sesame wrote them before
// versioning: its values as one store.EncodeValues blob in data.
type v0Session struct {
	key    string
	values map[string][]byte
	user   string
}

// createV0 creates a database of the schema before versioning on table,
// with sessions in it (one with a compressed value, one with a value that
// is not JSON, a tombstone), and an entry in its ops table.
func createV0(t *testing.T, db *sql.DB, d Dialect, table string) []v0Session {
	t.Helper()
	ctx := ctxT(t)
	for _, st := range v0Schema(t, d, table) {
		if _, err := db.ExecContext(ctx, st); err != nil {
			t.Fatalf("v0 schema: %v\n%s", err, st)
		}
	}
	t.Cleanup(func() {
		for _, suffix := range []string{"", "_locks", "_tokens", "_ops", "_migrations"} {
			db.Exec("DROP TABLE IF EXISTS " + d.quote(table+suffix))
		}
	})
	sessions := []v0Session{
		{key: key("plain"), values: map[string][]byte{"n": []byte("41"), "name": []byte(`"gopher"`)}, user: "u1"},
		{key: key("large"), values: map[string][]byte{"cart": []byte(`"` + strings.Repeat("tea ", 1000) + `"`), "n": []byte("1")}},
		{key: key("raw"), values: map[string][]byte{"spaced": []byte(" 1 "), "nul\x00key": []byte(`"x"`)}},
		{key: key("gone"), values: map[string][]byte{store.GoneField: []byte("true")}},
	}
	now := time.Now()
	for _, s := range sessions {
		data, err := store.EncodeValues(s.values, store.DefaultCompressThreshold)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.ExecContext(ctx, d.rebind(`INSERT INTO `+d.quote(table)+
			` (id, data, user_id, ip, user_agent, created, last_seen, expires) VALUES (?, ?, ?, '', '', ?, ?, ?)`),
			s.key, data, s.user, d.timeArg(now), d.timeArg(now), d.timeArg(now.Add(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
	}
	if d != SQLite {
		if _, err := db.ExecContext(ctx, d.rebind(`INSERT INTO `+d.quote(table+"_ops")+` (id, at) VALUES (?, ?)`),
			[]byte("old-change"), d.timeArg(now)); err != nil {
			t.Fatal(err)
		}
	}
	return sessions
}

// checkV0Sessions checks that the sessions createV0 wrote read back, take
// changes, and that the tombstone still refuses them.
func checkV0Sessions(t *testing.T, s *Store, sessions []v0Session) {
	t.Helper()
	ctx := ctxT(t)
	for _, v := range sessions {
		rec, ok, err := s.Load(ctx, v.key)
		if err != nil || !ok {
			t.Fatalf("Load of a session written before the upgrade: ok %v, err %v", ok, err)
		}
		if len(rec.Values) != len(v.values) {
			t.Errorf("got %d values, want %d", len(rec.Values), len(v.values))
		}
		for k, want := range v.values {
			if got := rec.Values[k]; string(got) != string(want) {
				t.Errorf("value %q: got %.40q, want %.40q", k, got, want)
			}
		}
		if rec.UserID != v.user {
			t.Errorf("got user %q, want %q", rec.UserID, v.user)
		}
		err = s.Apply(ctx, v.key, store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"visits": 1}})
		if _, gone := v.values[store.GoneField]; gone {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a change to an old tombstone: got %v, want ErrNotFound", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Apply to a session written before the upgrade: %v", err)
		}
		rec = mustLoad(t, s, v.key)
		if string(rec.Values["visits"]) != "1" || len(rec.Values) != len(v.values)+1 {
			t.Errorf("after an increment: got %d values, visits %q", len(rec.Values), rec.Values["visits"])
		}
		for k, want := range v.values {
			if got := rec.Values[k]; string(got) != string(want) {
				t.Errorf("after an increment, value %q: got %.40q, want %.40q", k, got, want)
			}
		}
	}
	if s.dedup() {
		if _, found, err := s.findOp(ctx, s.db, "old-change"); err != nil || !found {
			t.Errorf("the ops table lost its entries: found %v, err %v", found, err)
		}
	}
}

// TestUpgradeFromUnversioned creates a database with the exact schema of
// the version before versioning, writes sessions the way it did, and
// upgrades it with Migrate: the migrations apply in order, the sessions
// stay readable and writable, and a second Migrate applies nothing.
func TestUpgradeFromUnversioned(t *testing.T) {
	for _, d := range []Dialect{Postgres, MySQL, SQLite} {
		t.Run(d.String(), func(t *testing.T) {
			db := rawDB(t, d)
			table := tableName()
			sessions := createV0(t, db, d, table)
			s, err := New(db, d, Options{Table: table})
			if err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t)
			if v, err := s.Version(ctx); err != nil || v != 0 {
				t.Fatalf("Version before migrating: got %d, %v; want 0", v, err)
			}
			pending, err := s.PendingMigrations(ctx)
			if err != nil || len(pending) != SchemaVersion {
				t.Fatalf("PendingMigrations: got %d, %v; want %d", len(pending), err, SchemaVersion)
			}
			applied, err := s.ApplyMigrations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range applied {
				if m.Version != i+1 {
					t.Errorf("applied migration %d is version %d", i, m.Version)
				}
			}
			if len(applied) != SchemaVersion {
				t.Fatalf("applied %d migrations, want %d", len(applied), SchemaVersion)
			}
			if v, err := s.Version(ctx); err != nil || v != SchemaVersion {
				t.Fatalf("Version after migrating: got %d, %v; want %d", v, err, SchemaVersion)
			}
			if again, err := s.ApplyMigrations(ctx); err != nil || len(again) != 0 {
				t.Fatalf("second ApplyMigrations: applied %d, err %v; want none", len(again), err)
			}
			checkV0Sessions(t, s, sessions)
			// New sessions work beside the old ones.
			c := newClock()
			create(t, s, c, key("new"), map[string]string{"a": "1"})
			mustApply(t, s, key("new"), store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"a": 1}})
			if got := mustLoad(t, s, key("new")).Values["a"]; string(got) != "2" {
				t.Errorf("new session after the upgrade: got a = %s, want 2", got)
			}
		})
	}
}

// TestMigrateConcurrentUpgrade upgrades one database from several stores
// at once: each migration is applied exactly once.
func TestMigrateConcurrentUpgrade(t *testing.T) {
	for _, d := range []Dialect{Postgres, MySQL, SQLite} {
		t.Run(d.String(), func(t *testing.T) {
			db := rawDB(t, d)
			table := tableName()
			sessions := createV0(t, db, d, table)
			var wg sync.WaitGroup
			var mu sync.Mutex
			total := 0
			for range 4 {
				wg.Go(func() {
					s, err := New(db, d, Options{Table: table})
					if err != nil {
						t.Error(err)
						return
					}
					applied, err := s.ApplyMigrations(ctxT(t))
					if err != nil {
						t.Errorf("concurrent ApplyMigrations: %v", err)
					}
					mu.Lock()
					total += len(applied)
					mu.Unlock()
				})
			}
			wg.Wait()
			if total != SchemaVersion {
				t.Errorf("the concurrent upgrades applied %d migrations in all, want %d", total, SchemaVersion)
			}
			s, _ := New(db, d, Options{Table: table})
			var rows int
			if err := db.QueryRow(`SELECT count(*) FROM ` + d.quote(table+"_migrations")).Scan(&rows); err != nil || rows != SchemaVersion {
				t.Errorf("migrations table: %d rows, %v; want %d", rows, err, SchemaVersion)
			}
			checkV0Sessions(t, s, sessions)
		})
	}
}

// TestSchemaTooNew: a database migrated by a later version is refused, not
// downgraded.
func TestSchemaTooNew(t *testing.T) {
	s := openSQLite(t, Options{})
	if _, err := s.db.Exec(`INSERT INTO ` + s.dialect.quote(s.table+"_migrations") + ` (version, name, applied) VALUES (99, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctxT(t)); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("Migrate: got %v, want ErrSchemaTooNew", err)
	}
	if _, err := s.PendingMigrations(ctxT(t)); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("PendingMigrations: got %v, want ErrSchemaTooNew", err)
	}
}

// TestSchemaIsTheMigrations: Schema on an empty database gives the schema
// Migrate makes, and Migrate then has nothing to do.
func TestSchemaIsTheMigrations(t *testing.T) {
	for _, d := range []Dialect{Postgres, MySQL, SQLite} {
		t.Run(d.String(), func(t *testing.T) {
			db := rawDB(t, d)
			table := tableName()
			t.Cleanup(func() {
				for _, suffix := range []string{"", "_locks", "_tokens", "_ops", "_migrations"} {
					db.Exec("DROP TABLE IF EXISTS " + d.quote(table+suffix))
				}
			})
			stmts, err := Schema(d, table)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range stmts {
				if _, err := db.Exec(st); err != nil {
					t.Fatalf("%v\n%s", err, st)
				}
			}
			s, _ := New(db, d, Options{Table: table})
			if pending, err := s.PendingMigrations(ctxT(t)); err != nil || len(pending) != 0 {
				t.Fatalf("after Schema: %d pending, %v; want none", len(pending), err)
			}
			create(t, s, newClock(), key("a"), map[string]string{"a": "1"})
		})
	}
}
