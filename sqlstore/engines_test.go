package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	// The engines. Their public packages import this one, so its tests
	// link their implementations instead.
	_ "github.com/sesamego/sesame/sqlstore/internal/mysqlengine"
	_ "github.com/sesamego/sesame/sqlstore/internal/pgengine"
	_ "github.com/sesamego/sesame/sqlstore/internal/sqliteengine"
	"github.com/sesamego/sesame/sqlstore/internal/testservers"
	"github.com/sesamego/sesame/store"
)

// The test servers. Tests skip an engine whose server does not answer,
// unless SESAME_REQUIRE_SERVICES=1, which makes that a failure.
const (
	postgresEnv     = testservers.PostgresEnv
	mysqlEnv        = testservers.MySQLEnv
	defaultPostgres = testservers.DefaultPostgres
	defaultMySQL    = testservers.DefaultMySQL
)

// testEngine opens a migrated store on a fresh table of one dialect.
type testEngine struct {
	name string
	open func(t testing.TB, opts Options) *Store
}

var engines = []testEngine{
	{"postgres", openPostgres},
	{"mysql", openMySQL},
	{"sqlite", openSQLite},
}

// forEachEngine runs f as a subtest per engine.
func forEachEngine(t *testing.T, f func(t *testing.T, e testEngine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { f(t, e) })
	}
}

func envOr(name, def string) string { return testservers.Env(name, def) }

// unreachable skips the test, or fails it under SESAME_REQUIRE_SERVICES=1.
func unreachable(t testing.TB, env string, err error) {
	t.Helper()
	testservers.Unreachable(t, env, err)
}

// tableName returns a table name no other test run uses.
func tableName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "sesame_test_" + hex.EncodeToString(b)
}

// postgresDB opens the test PostgreSQL server, or skips.
func postgresDB(t testing.TB) *sql.DB {
	t.Helper()
	dsn := envOr(postgresEnv, defaultPostgres)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	pingOrSkip(t, db, postgresEnv)
	return db
}

// mysqlDB opens the test MySQL server with the settings Open uses, or skips.
func mysqlDB(t testing.TB) *sql.DB {
	t.Helper()
	dsn := envOr(mysqlEnv, defaultMySQL)
	if !strings.HasPrefix(dsn, "mysql://") {
		dsn = "mysql:" + dsn
	}
	tg, err := parseTarget(dsn)
	if err != nil {
		t.Fatalf("%s: %v", mysqlEnv, err)
	}
	db, err := tg.open()
	if err != nil {
		t.Fatalf("%s: %v", mysqlEnv, err)
	}
	pingOrSkip(t, db, mysqlEnv)
	return db
}

func pingOrSkip(t testing.TB, db *sql.DB, env string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		unreachable(t, env, err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
}

// newStore wraps db in a store on a fresh table, migrates it and drops the
// tables (then closes db) at cleanup.
func newStore(t testing.TB, db *sql.DB, d Dialect, opts Options) *Store {
	t.Helper()
	if opts.Table == "" {
		opts.Table = tableName()
	}
	s, err := New(db, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, tb := range tables(s) {
			if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+d.quote(tb)); err != nil && !strings.Contains(err.Error(), "database is closed") {
				t.Logf("drop %s: %v", tb, err)
			}
		}
		db.Close()
	})
	return s
}

func openPostgres(t testing.TB, opts Options) *Store {
	return newStore(t, postgresDB(t), Postgres, opts)
}

func openMySQL(t testing.TB, opts Options) *Store {
	return newStore(t, mysqlDB(t), MySQL, opts)
}

func openSQLite(t testing.TB, opts Options) *Store {
	tg, err := parseTarget(filepath.Join(t.TempDir(), "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := tg.open()
	if err != nil {
		t.Fatal(err)
	}
	return newStore(t, db, SQLite, opts)
}

// clock is a settable clock for s.now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: normTime(time.Now())} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// key returns the store key of a readable name.
func key(name string) string { return store.Key(name) }

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustApply applies c and fails the test on error.
func mustApply(t testing.TB, s *Store, k string, c store.Change) {
	t.Helper()
	if err := s.Apply(ctxT(t), k, c); err != nil {
		t.Fatalf("Apply(%.8s): %v", k, err)
	}
}

// mustLoad loads k and fails the test unless it exists.
func mustLoad(t testing.TB, s *Store, k string) store.Record {
	t.Helper()
	rec, ok, err := s.Load(ctxT(t), k)
	if err != nil || !ok {
		t.Fatalf("Load(%.8s) = ok %v, err %v; want a record", k, ok, err)
	}
	return rec
}

// create makes a record under k that expires in an hour of c's time.
func create(t testing.TB, s *Store, c *clock, k string, set map[string]string) {
	t.Helper()
	ch := store.Change{Create: true, Now: c.now(), Expires: c.now().Add(time.Hour), Set: map[string][]byte{}}
	for k, v := range set {
		ch.Set[k] = []byte(v)
	}
	mustApply(t, s, k, ch)
}

// tables returns the names of the tables of s.
func tables(s *Store) []string {
	return []string{s.table, s.table + "_locks", s.table + "_tokens", s.table + "_ops"}
}
