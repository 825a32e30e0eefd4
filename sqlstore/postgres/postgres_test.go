package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/sqlstore"
	"github.com/sesamego/sesame/sqlstore/internal/enginetest"
	"github.com/sesamego/sesame/sqlstore/internal/testservers"
	"github.com/sesamego/sesame/sqlstore/postgres"
	"github.com/sesamego/sesame/store"
)

func TestOpen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, testservers.Postgres(), sqlstore.Options{Table: enginetest.Table()})
	if errors.Is(err, store.ErrUnavailable) {
		testservers.Unreachable(t, testservers.PostgresEnv, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Dialect() != sqlstore.Postgres {
		t.Errorf("got dialect %v, want postgres", s.Dialect())
	}
	enginetest.Exercise(t, s)
}

func TestNew(t *testing.T) {
	db, err := sql.Open("pgx", testservers.Postgres())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		testservers.Unreachable(t, testservers.PostgresEnv, err)
	}
	s, err := postgres.New(db, sqlstore.Options{Table: enginetest.Table()})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.Exercise(t, s)
}

func TestOpenRefusesOtherTargets(t *testing.T) {
	for _, target := range []string{"mysql://app:hunter2@db/app", "sqlite:s.db", "redis://app:hunter2@db"} {
		s, err := postgres.Open(context.Background(), target, sqlstore.Options{})
		if err == nil {
			s.Close()
			t.Errorf("%s: got no error", target)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("got %q, which repeats the password", err)
		}
	}
}

// TestOthersNotLinked: this test binary imports only the PostgreSQL engine.
func TestOthersNotLinked(t *testing.T) {
	enginetest.OthersNotLinked(t, sqlstore.Postgres)
}
