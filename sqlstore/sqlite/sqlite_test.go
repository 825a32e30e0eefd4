package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/sqlstore"
	"github.com/sesamego/sesame/sqlstore/internal/enginetest"
	"github.com/sesamego/sesame/sqlstore/sqlite"
)

func TestOpen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "sessions.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Dialect() != sqlstore.SQLite {
		t.Errorf("got dialect %v, want sqlite", s.Dialect())
	}
	enginetest.Exercise(t, s)
}

func TestNew(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := sqlite.New(db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.Exercise(t, s)
}

func TestOpenRefusesOtherTargets(t *testing.T) {
	for _, target := range []string{"postgres://app:hunter2@db/app", "mysql://app:hunter2@db/app", "redis://app:hunter2@db"} {
		s, err := sqlite.Open(context.Background(), target, sqlstore.Options{})
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

// TestOthersNotLinked: this test binary imports only the SQLite engine.
func TestOthersNotLinked(t *testing.T) {
	enginetest.OthersNotLinked(t, sqlstore.SQLite)
}
