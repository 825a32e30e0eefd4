// Package enginetest checks an engine package of sqlstore from that
// package's tests: that the stores it makes work on the real database, and
// that a program importing it links no other engine.
package enginetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/sqlstore"
	"github.com/sesamego/sesame/store"
)

// Table returns a table name no other test run uses.
func Table() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "sesame_test_" + hex.EncodeToString(b)
}

// Exercise migrates s, creates a record, changes it in a locked
// read-modify-write transaction (pipelined on PostgreSQL) and reads it
// back. Then it drops the tables of s.
func Exercise(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, suffix := range []string{"", "_locks", "_tokens", "_ops"} {
			if _, err := s.DB().ExecContext(ctx, "DROP TABLE IF EXISTS "+s.Table()+suffix); err != nil {
				t.Errorf("drop %s%s: %v", s.Table(), suffix, err)
			}
		}
	}()
	k := store.Key("an engine test")
	err := s.Apply(ctx, k, store.Change{Create: true, Set: map[string][]byte{"a": []byte(`"b"`)}, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, k, store.Change{ID: "change-1", Incr: map[string]int64{"n": 2}}); err != nil {
		t.Fatal(err)
	}
	rec, ok, err := s.Load(ctx, k)
	if err != nil || !ok {
		t.Fatalf("Load: got ok %v, err %v; want the record", ok, err)
	}
	if a, n := string(rec.Values["a"]), string(rec.Values["n"]); a != `"b"` || n != "2" {
		t.Errorf("got a=%s n=%s, want a=\"b\" n=2", a, n)
	}
}

// drivers are the database/sql driver names each engine registers.
var drivers = map[sqlstore.Dialect]string{
	sqlstore.Postgres: "pgx",
	sqlstore.MySQL:    "mysql",
	sqlstore.SQLite:   "sqlite",
}

// OthersNotLinked checks, in the tests of the engine package of dialect
// linked (whose test binary imports no other engine), that the other
// dialects' drivers are not registered, and that [sqlstore.Open] and
// [sqlstore.New] refuse their targets with an error naming the package to
// import.
func OthersNotLinked(t *testing.T, linked sqlstore.Dialect) {
	t.Helper()
	db := sql.OpenDB(noConnector{})
	defer db.Close()
	if _, err := sqlstore.New(db, linked, sqlstore.Options{}); err != nil {
		t.Errorf("New with the linked %v engine: %v", linked, err)
	}
	targets := map[sqlstore.Dialect]map[string]string{
		sqlstore.Postgres: {
			"postgres://app:hunter2@127.0.0.1:1/app":   "postgres://",
			"postgresql://app:hunter2@127.0.0.1:1/app": "postgresql://",
		},
		sqlstore.MySQL: {
			"mysql://app:hunter2@127.0.0.1:1/app":    "mysql://",
			"mysql:app:hunter2@tcp(127.0.0.1:1)/app": "mysql:",
		},
		sqlstore.SQLite: {
			"sqlite:" + filepath.Join(t.TempDir(), "s.db"): "sqlite:",
			"file:" + filepath.Join(t.TempDir(), "s.db"):   "file:",
			filepath.Join(t.TempDir(), "s.sqlite"):         "SQLite file",
		},
	}
	for d, forms := range targets {
		if d == linked {
			continue
		}
		pkg := "github.com/sesamego/sesame/sqlstore/" + d.String()
		if slices.Contains(sql.Drivers(), drivers[d]) {
			t.Errorf("the %q driver is registered, want only the %v engine linked", drivers[d], linked)
		}
		for target, form := range forms {
			_, err := sqlstore.Open(context.Background(), target, sqlstore.Options{})
			want := `sqlstore: no engine for ` + form + ` targets: import _ "` + pkg + `"`
			if err == nil || err.Error() != want {
				t.Errorf("Open(%v target): got %v, want %s", d, err, want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("got %q, which repeats the password", err)
			}
		}
		_, err := sqlstore.New(db, d, sqlstore.Options{})
		want := `sqlstore: no engine for the ` + d.String() + ` dialect: import _ "` + pkg + `"`
		if err == nil || err.Error() != want {
			t.Errorf("New(%v): got %v, want %s", d, err, want)
		}
	}
}

// noConnector is a database/sql connector that never connects: New does
// no I/O.
type noConnector struct{}

func (noConnector) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("enginetest: no connection")
}

func (noConnector) Driver() driver.Driver { return noDriver{} }

type noDriver struct{}

func (noDriver) Open(string) (driver.Conn, error) {
	return nil, errors.New("enginetest: no connection")
}
