package sqlstore

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Dialect names the SQL engine behind a [Store]. Its zero value is not a
// dialect: [New] refuses it.
type Dialect int

// The supported engines. A store of a dialect needs its engine package
// linked (see "Engines" in the package documentation).
const (
	// Postgres is PostgreSQL through github.com/jackc/pgx/v5/stdlib (driver
	// name "pgx"); its engine is github.com/sesamego/sesame/sqlstore/postgres.
	Postgres Dialect = iota + 1

	// MySQL is MySQL or MariaDB through github.com/go-sql-driver/mysql
	// (driver name "mysql"); its engine is
	// github.com/sesamego/sesame/sqlstore/mysql.
	MySQL

	// SQLite is SQLite through modernc.org/sqlite, pure Go without cgo
	// (driver name "sqlite"); its engine is
	// github.com/sesamego/sesame/sqlstore/sqlite.
	SQLite
)

// String returns the dialect's name: "postgres", "mysql" or "sqlite".
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case MySQL:
		return "mysql"
	case SQLite:
		return "sqlite"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

func (d Dialect) valid() bool { return d >= Postgres && d <= SQLite }

// enginePath returns the import path of the package that links d's engine.
func (d Dialect) enginePath() string { return "github.com/sesamego/sesame/sqlstore/" + d.String() }

// DefaultTable is the table [Options.Table] names when it is empty.
const DefaultTable = "sesame_sessions"

// maxTableLen keeps every derived name (the lock and token tables and the
// index names, which append up to 19 characters) within PostgreSQL's limit
// of 63 bytes.
const maxTableLen = 44

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkTable reports whether name can be used as a table name: an ASCII
// identifier of at most 44 characters. Names are quoted in every statement,
// so reserved words are fine, but nothing that needs escaping gets in.
func checkTable(name string) error {
	if len(name) > maxTableLen || !identRE.MatchString(name) {
		return fmt.Errorf("sqlstore: table name %q is not an identifier of at most %d letters, digits and underscores", name, maxTableLen)
	}
	return nil
}

// quote quotes a validated identifier for d.
func (d Dialect) quote(name string) string {
	if d == MySQL {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// rebind rewrites the ? placeholders of query into $1, $2, ... for
// PostgreSQL. The statements of this package contain no other question
// marks.
func (d Dialect) rebind(query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// Time bounds every engine can store: MySQL's DATETIME starts at year 1000.
var (
	minTime = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// normTime returns t as the engines store it: UTC, truncated to whole
// microseconds (the precision of PostgreSQL's timestamptz and MySQL's
// DATETIME(6)) and clamped to the range all three can hold. Times are
// normalised before they are compared in Go, so Go and SQL always agree.
func normTime(t time.Time) time.Time {
	t = t.UTC()
	switch {
	case t.Before(minTime):
		return minTime
	case t.After(maxTime):
		return maxTime
	}
	return t.Truncate(time.Microsecond)
}

// timeArg returns a normalised time as a statement argument: time.Time for
// PostgreSQL and MySQL, Unix microseconds for SQLite, whose INTEGER columns
// compare and index them exactly.
func (d Dialect) timeArg(t time.Time) any {
	t = normTime(t)
	if d == SQLite {
		return t.UnixMicro()
	}
	return t
}

// timeCol scans a time column of any dialect: time.Time (PostgreSQL, MySQL
// with parseTime=true), text (MySQL without parseTime) or Unix microseconds
// (SQLite).
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil: // a nullable column (Token.Rotated)
		*c.t = time.Time{}
	case time.Time:
		*c.t = v.UTC()
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case []byte:
		return c.parse(string(v))
	case string:
		return c.parse(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	return nil
}

func (c timeCol) parse(s string) error {
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, time.UTC)
	if err != nil {
		return fmt.Errorf("sqlstore: bad time %q: %w", s, err)
	}
	*c.t = t
	return nil
}
