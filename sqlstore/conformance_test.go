package sqlstore

import (
	"database/sql"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

// TestConformance runs the store conformance suite on every engine.
func TestConformance(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		e.open(t, Options{}) // skip (or fail) once when the server is down
		// The networked engines remember change IDs; SQLite is embedded
		// and never sees a change twice.
		opts := storetest.Options{IdempotentChanges: e.name != "sqlite"}
		storetest.RunWith(t, func(t *testing.T) store.Store { return e.open(t, Options{}) }, opts)
	})
}

// BenchmarkStore runs the shared store benchmarks on every engine.
func BenchmarkStore(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			storetest.RunBenchmarks(b, func(b *testing.B) store.Store { return e.open(b, Options{}) })
		})
	}
}

// TestConformanceMySQLPlainDSN runs the suite on MySQL opened the way a
// user might, without the settings Open adds: no parseTime (times arrive as
// text) and no interpolateParams (server-side prepared statements).
func TestConformanceMySQLPlainDSN(t *testing.T) {
	open := func(t *testing.T) store.Store {
		t.Helper()
		cfg, err := mysql.ParseDSN(envOr(mysqlEnv, defaultMySQL))
		if err != nil {
			t.Skipf("%s is not a go-sql-driver DSN: %v", mysqlEnv, err)
		}
		cfg.ParseTime, cfg.InterpolateParams = false, false
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		pingOrSkip(t, db, mysqlEnv)
		return newStore(t, db, MySQL, Options{})
	}
	open(t)
	storetest.RunWith(t, open, storetest.Options{IdempotentChanges: true})
}

// TestTokenConformance runs the remember-me token suite on every engine.
func TestTokenConformance(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		e.open(t, Options{})
		storetest.RunTokens(t, func(t *testing.T) store.TokenStore { return e.open(t, Options{}) })
	})
}
