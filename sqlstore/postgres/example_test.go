package postgres_test

import (
	"context"
	"database/sql"
	"log"
	"os"

	"github.com/sesamego/sesame/sqlstore"
	"github.com/sesamego/sesame/sqlstore/postgres"
)

// Open takes a postgres:// URL. The tables are created once, for example at
// deployment; Migrate is idempotent.
func ExampleOpen() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, "postgres://app@db.internal:5432/app?sslmode=verify-full", sqlstore.Options{
		Table: "sessions",
	})
	if err != nil {
		log.Fatal(err) // wraps store.ErrUnavailable when the server does not answer
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
}

// New wraps a *sql.DB of the "pgx" driver, which this package registers.
func ExampleNew() {
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	s, err := postgres.New(db, sqlstore.Options{Table: "sessions"})
	if err != nil {
		log.Fatal(err)
	}
	_ = s // pass it to sesame.Config.Store
}
