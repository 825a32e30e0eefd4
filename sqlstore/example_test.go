package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sesamego/sesame/sqlstore"
	_ "github.com/sesamego/sesame/sqlstore/mysql"    // links the MySQL engine
	_ "github.com/sesamego/sesame/sqlstore/postgres" // links the PostgreSQL engine and the "pgx" driver
	"github.com/sesamego/sesame/sqlstore/sqlite"
	"github.com/sesamego/sesame/store"
)

// A store on an SQLite file: open it with the SQLite engine, create the
// tables, and apply change sets to a record.
func Example() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(dir, "sessions.db"), sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	key := store.Key("a session ID from a cookie")
	err = s.Apply(ctx, key, store.Change{
		Create:  true,
		Set:     map[string][]byte{"theme": []byte(`"dark"`)},
		Expires: time.Now().Add(time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	// Two requests' changes merge instead of overwriting each other.
	_ = s.Apply(ctx, key, store.Change{Incr: map[string]int64{"views": 1}})
	_ = s.Apply(ctx, key, store.Change{Set: map[string][]byte{"lang": []byte(`"fr"`)}})

	rec, ok, err := s.Load(ctx, key)
	if err != nil || !ok {
		log.Fatal(ok, err)
	}
	fmt.Printf("theme=%s views=%s lang=%s\n", rec.Values["theme"], rec.Values["views"], rec.Values["lang"])
	// Output: theme="dark" views=1 lang="fr"
}

// Opening PostgreSQL or MySQL takes a URL. Open picks the engine of the
// URL among those the program imports: here PostgreSQL and MySQL
// (import _ "github.com/sesamego/sesame/sqlstore/postgres" and
// _ "github.com/sesamego/sesame/sqlstore/mysql"). The tables are created
// once, for example at deployment; Migrate is idempotent.
func ExampleOpen() {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, "postgres://app@db.internal:5432/app?sslmode=verify-full", sqlstore.Options{
		Table: "sessions",
	})
	// or: sqlstore.Open(ctx, "mysql://app:secret@db.internal:3306/app", sqlstore.Options{})
	// A target whose engine is not imported fails with an error naming
	// the import to add.
	if err != nil {
		log.Fatal(err) // wraps store.ErrUnavailable when the server does not answer
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
}

// New wraps a *sql.DB opened elsewhere, with the driver of its dialect:
// the PostgreSQL engine (import _ "github.com/sesamego/sesame/sqlstore/postgres")
// registers the "pgx" driver.
func ExampleNew() {
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	s, err := sqlstore.New(db, sqlstore.Postgres, sqlstore.Options{Table: "sessions"})
	if err != nil {
		log.Fatal(err)
	}
	_ = s // pass it to sesame.Config.Store
}

// Schema returns the DDL for databases whose schema is managed by hand.
func ExampleSchema() {
	stmts, err := sqlstore.Schema(sqlstore.Postgres, "sessions")
	if err != nil {
		log.Fatal(err)
	}
	for _, st := range stmts {
		fmt.Println(strings.SplitN(st, "\n", 2)[0])
	}
	// Output:
	// CREATE TABLE IF NOT EXISTS "sessions_migrations" (
	// CREATE TABLE IF NOT EXISTS "sessions" (
	// CREATE INDEX IF NOT EXISTS "sessions_user_id_idx" ON "sessions" (user_id) WHERE user_id <> ''
	// CREATE INDEX IF NOT EXISTS "sessions_expires_idx" ON "sessions" (expires)
	// CREATE TABLE IF NOT EXISTS "sessions_locks" (
	// CREATE TABLE IF NOT EXISTS "sessions_tokens" (
	// CREATE INDEX IF NOT EXISTS "sessions_tokens_user_id_idx" ON "sessions_tokens" (user_id)
	// CREATE INDEX IF NOT EXISTS "sessions_tokens_expires_idx" ON "sessions_tokens" (expires)
	// CREATE TABLE IF NOT EXISTS "sessions_ops" (
	// CREATE INDEX IF NOT EXISTS "sessions_ops_at_idx" ON "sessions_ops" (at)
	// INSERT INTO "sessions_migrations" (version, name, applied) VALUES (1, 'baseline', now()) ON CONFLICT (version) DO NOTHING
	// ALTER TABLE "sessions" ADD COLUMN IF NOT EXISTS vals JSONB
	// ALTER TABLE "sessions" ADD COLUMN IF NOT EXISTS size BIGINT NOT NULL DEFAULT 0
	// INSERT INTO "sessions_migrations" (version, name, applied) VALUES (2, 'values', now()) ON CONFLICT (version) DO NOTHING
}

// ApplyMigrations upgrades the schema and says what it did; a second run
// finds nothing to do.
func ExampleStore_ApplyMigrations() {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, "sqlite::memory:", sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	for range 2 {
		applied, err := s.ApplyMigrations(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(applied), "applied")
		for _, m := range applied {
			fmt.Printf("migration %d (%s): %d statements\n", m.Version, m.Name, len(m.Statements))
		}
	}
	// Output:
	// 2 applied
	// migration 1 (baseline): 7 statements
	// migration 2 (values): 2 statements
	// 0 applied
}

// A background pruner runs until it is stopped; stop waits for it.
func ExampleStore_StartPruner() {
	s, err := sqlite.Open(context.Background(), "sqlite::memory:", sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	stop := s.StartPruner(10 * time.Minute)
	defer stop()
	// ... serve requests ...
}
