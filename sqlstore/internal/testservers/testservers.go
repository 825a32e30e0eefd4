// Package testservers names the database servers that the tests of
// sqlstore and its engine packages run against, and what a test does when
// one does not answer: it skips, unless SESAME_REQUIRE_SERVICES=1 makes
// that a failure.
package testservers

import (
	"os"
	"testing"
)

// The environment variables that name the servers, and the servers used
// when they are empty.
const (
	PostgresEnv     = "SESAME_POSTGRES_DSN"
	MySQLEnv        = "SESAME_MYSQL_DSN"
	DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultMySQL    = "root@tcp(127.0.0.1:3306)/test?parseTime=true"
)

// Env returns the environment variable name, or def when it is empty.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Postgres returns the URL of the PostgreSQL test server.
func Postgres() string { return Env(PostgresEnv, DefaultPostgres) }

// MySQL returns the go-sql-driver/mysql DSN (or mysql:// URL) of the MySQL
// test server.
func MySQL() string { return Env(MySQLEnv, DefaultMySQL) }

// Unreachable skips the test, or fails it under SESAME_REQUIRE_SERVICES=1,
// because the server that env names does not answer.
func Unreachable(t testing.TB, env string, err error) {
	t.Helper()
	if os.Getenv("SESAME_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s: database unreachable and SESAME_REQUIRE_SERVICES=1: %v", env, err)
	}
	t.Skipf("%s: database unreachable (%v); set %s to a reachable server to run this test", env, err, env)
}
