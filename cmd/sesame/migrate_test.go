package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/sqlstore"
	"github.com/sesamego/sesame/store"
)

// TestMigrateUpgradesUnversioned creates, on each SQL engine, a database
// with the exact schema sesame created before the schema was versioned
// (sqlstore's testdata/v0, written by that version's Schema) and a session
// written as that version wrote them, then upgrades it through the CLI:
// --dry-run prints the pending migrations and applies nothing, migrate
// applies them in order and says so, a second migrate applies nothing,
// and the session reads back through a store opened as an app opens it.
func TestMigrateUpgradesUnversioned(t *testing.T) {
	engines := []struct {
		name    string
		dialect sqlstore.Dialect
		db      func(t *testing.T) (db *sql.DB, cliURL string)
	}{
		{"postgres", sqlstore.Postgres, func(t *testing.T) (*sql.DB, string) {
			dsn := envOr(postgresEnv, defaultPostgres)
			return pingSQL(t, "pgx", dsn, postgresEnv), dsn
		}},
		{"mysql", sqlstore.MySQL, func(t *testing.T) (*sql.DB, string) {
			dsn := envOr(mysqlEnv, defaultMySQL)
			return pingSQL(t, "mysql", dsn, mysqlEnv), "mysql:" + dsn
		}},
		{"sqlite", sqlstore.SQLite, func(t *testing.T) (*sql.DB, string) {
			path := filepath.Join(t.TempDir(), "sessions.db")
			return pingSQL(t, "sqlite", path, ""), path
		}},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db, url := e.db(t)
			table := uniqueName("sesame_cli_v0_")
			quote := func(s string) string {
				if e.dialect == sqlstore.MySQL {
					return "`" + s + "`"
				}
				return `"` + s + `"`
			}
			t.Cleanup(func() {
				for _, suffix := range []string{"", "_locks", "_tokens", "_ops", "_migrations"} {
					db.Exec("DROP TABLE IF EXISTS " + quote(table+suffix))
				}
			})
			v0, err := os.ReadFile(filepath.Join("..", "..", "sqlstore", "testdata", "v0", e.name+".sql"))
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range strings.Split(string(v0), ";\n") {
				if st = strings.TrimSpace(st); st != "" {
					if _, err := db.Exec(strings.ReplaceAll(st, "sesame_v0tmpl", table)); err != nil {
						t.Fatalf("v0 schema: %v", err)
					}
				}
			}
			// A session as the version before versioning wrote it.
			id := store.Key("old session")
			data, _ := store.EncodeValues(map[string][]byte{"user": []byte(`"ada"`), "n": []byte("7")}, 1024)
			now := time.Now().UTC()
			var created, expires any = now, now.Add(time.Hour)
			insert := "INSERT INTO " + quote(table) + " (id, data, user_id, ip, user_agent, created, last_seen, expires) VALUES (?, ?, 'ada', '', '', ?, ?, ?)"
			switch e.dialect {
			case sqlstore.Postgres:
				insert = "INSERT INTO " + quote(table) + " (id, data, user_id, ip, user_agent, created, last_seen, expires) VALUES ($1, $2, 'ada', '', '', $3, $4, $5)"
			case sqlstore.SQLite:
				created, expires = now.UnixMicro(), now.Add(time.Hour).UnixMicro()
			}
			if _, err := db.Exec(insert, id, data, created, created, expires); err != nil {
				t.Fatal(err)
			}
			flags := []string{"--store", url, "--table", table}

			r := realCmd(t, append([]string{"migrate", "--dry-run"}, flags...)...)
			if r.code != 0 || !strings.Contains(r.stdout, "is at schema version 0") ||
				!strings.Contains(r.stdout, "-- migration 1 (baseline)") || !strings.Contains(r.stdout, "-- migration 2 (values)") ||
				!strings.Contains(r.stdout, "ALTER TABLE") {
				t.Fatalf("migrate --dry-run on an unversioned database = %+v", r)
			}
			r = realCmd(t, append([]string{"migrate", "--dry-run", "--json"}, flags...)...)
			var dry struct {
				Version int
				Pending []struct {
					Version    int
					Statements []string
				}
			}
			if err := json.Unmarshal([]byte(r.stdout), &dry); err != nil || dry.Version != 0 || len(dry.Pending) != sqlstore.SchemaVersion {
				t.Fatalf("migrate --dry-run --json = %+v (%v): want version 0 and %d pending", r, err, sqlstore.SchemaVersion)
			}

			r = realCmd(t, append([]string{"migrate"}, flags...)...)
			want := "applied migration 1 (baseline)\napplied migration 2 (values)\nschema of table " + table + " is up to date: version 2 (" + e.name + ")\n"
			if r.code != 0 || r.stdout != want {
				t.Fatalf("migrate = %+v\nwant stdout %q", r, want)
			}
			r = realCmd(t, append([]string{"migrate"}, flags...)...)
			if r.code != 0 || strings.Contains(r.stdout, "applied migration") {
				t.Fatalf("second migrate = %+v, want nothing applied", r)
			}
			r = realCmd(t, append([]string{"migrate", "--dry-run"}, flags...)...)
			if r.code != 0 || !strings.Contains(r.stdout, "nothing to apply") {
				t.Fatalf("migrate --dry-run after migrating = %+v", r)
			}

			appURL := url
			st, err := sqlstore.Open(context.Background(), appURL, sqlstore.Options{Table: table})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			rec, ok, err := st.Load(context.Background(), id)
			if err != nil || !ok || string(rec.Values["user"]) != `"ada"` || string(rec.Values["n"]) != "7" || rec.UserID != "ada" {
				t.Fatalf("the old session after the upgrade: %+v, %v, %v", rec, ok, err)
			}
			if err := st.Apply(context.Background(), id, store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"n": 1}}); err != nil {
				t.Fatal(err)
			}
			if rec, _, _ := st.Load(context.Background(), id); string(rec.Values["n"]) != "8" || string(rec.Values["user"]) != `"ada"` {
				t.Fatalf("the old session after a change: %q", rec.Values)
			}
		})
	}
}

func TestMigrateRefusesPrintWithDryRun(t *testing.T) {
	r := cmd(t, nil, "migrate", "--print", "--dry-run", "--store", "postgres://db/app")
	if r.code != exitUsage || !strings.Contains(r.stderr, "exclude each other") {
		t.Errorf("migrate --print --dry-run = %+v", r)
	}
}
