package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/sesamego/sesame/sqlstore"
	"github.com/sesamego/sesame/sqlstore/internal/enginetest"
	"github.com/sesamego/sesame/sqlstore/internal/mysqlengine"
	"github.com/sesamego/sesame/sqlstore/internal/testservers"
	"github.com/sesamego/sesame/sqlstore/mysql"
	"github.com/sesamego/sesame/store"
)

// target returns the test server as a target: a mysql:// URL, or mysql:
// and the driver's DSN.
func target() string {
	dsn := testservers.MySQL()
	if strings.HasPrefix(dsn, "mysql://") {
		return dsn
	}
	return "mysql:" + dsn
}

func TestOpen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := mysql.Open(ctx, target(), sqlstore.Options{Table: enginetest.Table()})
	if errors.Is(err, store.ErrUnavailable) {
		testservers.Unreachable(t, testservers.MySQLEnv, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Dialect() != sqlstore.MySQL {
		t.Errorf("got dialect %v, want mysql", s.Dialect())
	}
	enginetest.Exercise(t, s)
}

func TestNew(t *testing.T) {
	// The configuration Open makes, through the driver's connector.
	cfg, err := mysqlengine.Config(target())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := driver.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		testservers.Unreachable(t, testservers.MySQLEnv, err)
	}
	s, err := mysql.New(db, sqlstore.Options{Table: enginetest.Table()})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.Exercise(t, s)
}

func TestOpenRefusesOtherTargets(t *testing.T) {
	for _, target := range []string{"postgres://app:hunter2@db/app", "sqlite:s.db", "redis://app:hunter2@db"} {
		s, err := mysql.Open(context.Background(), target, sqlstore.Options{})
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

// TestOthersNotLinked: this test binary imports only the MySQL engine.
func TestOthersNotLinked(t *testing.T) {
	enginetest.OthersNotLinked(t, sqlstore.MySQL)
}
