package mysql_test

import (
	"context"
	"database/sql"
	"log"
	"os"

	"github.com/sesamego/sesame/sqlstore"
	"github.com/sesamego/sesame/sqlstore/mysql"
)

// Open takes a mysql:// URL, or mysql: and a go-sql-driver/mysql DSN. The
// tables are created once, for example at deployment; Migrate is
// idempotent.
func ExampleOpen() {
	ctx := context.Background()
	s, err := mysql.Open(ctx, "mysql://app:secret@db.internal:3306/app", sqlstore.Options{
		Table: "sessions",
	})
	// or: mysql.Open(ctx, "mysql:app:secret@tcp(db.internal:3306)/app", sqlstore.Options{})
	if err != nil {
		log.Fatal(err) // wraps store.ErrUnavailable when the server does not answer
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
}

// New wraps a *sql.DB of the "mysql" driver, which this package registers.
func ExampleNew() {
	db, err := sql.Open("mysql", os.Getenv("DATABASE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	s, err := mysql.New(db, sqlstore.Options{Table: "sessions"})
	if err != nil {
		log.Fatal(err)
	}
	_ = s // pass it to sesame.Config.Store
}
