// Package sqliteengine is sqlstore's SQLite engine: the modernc.org/sqlite
// driver (pure Go without cgo, driver name "sqlite"), the connection
// settings sqlstore.Open uses, and what its errors mean. Importing it
// registers the driver and the engine; package sqlstore/sqlite is its
// public face.
package sqliteengine

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sesamego/sesame/sqlstore/internal/engine"
)

func init() {
	engine.Register(&engine.Engine{
		Name:     "sqlite",
		Open:     open,
		Conflict: conflict,
		Answer:   answer,
	})
}

// Pragmas are set on every SQLite connection that sqlstore.Open makes: WAL
// lets readers run beside the writer, busy_timeout makes a writer of
// another process wait for the lock instead of failing, synchronous=NORMAL
// is durable across application crashes in WAL mode (a power cut may lose
// the last commits), and foreign_keys is SQLite's recommended setting.
const Pragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"

// DSN returns the driver's data source name for a file: URI: the URI with
// [Pragmas] added to its query.
func DSN(uri string) string {
	if strings.Contains(uri, "?") {
		return uri + "&" + Pragmas
	}
	return uri + "?" + Pragmas
}

// open opens the database of a file: URI.
func open(addr string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", DSN(addr))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	return db, nil
}

// SQLite's primary result codes that mean "busy, try again".
const (
	sqliteBusy   = 5 // SQLITE_BUSY
	sqliteLocked = 6 // SQLITE_LOCKED
)

// code returns the primary result code of a SQLite error, or 0 when err
// is not one.
func code(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

// conflict: another connection holds the database (a checkpoint, a plain
// DSN without busy_timeout): nothing was written; try again.
func conflict(err error) bool {
	c := code(err)
	return c == sqliteBusy || c == sqliteLocked
}

// answer: SQLite runs in this process, so a statement that failed took no
// effect (its transaction is rolled back), whatever the error.
func answer(err error) (maybe, ok bool) {
	return false, code(err) != 0
}
