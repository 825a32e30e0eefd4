package bench

import (
	"context"
	"database/sql"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/mysqlstore"
	"github.com/alexedwards/scs/pgxstore"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesamego/sesame/sqlstore"
)

// scs's SQL stores are the peers of sesame's PostgreSQL and MySQL
// contenders. They go right after scs-redis in the tables.
func init() {
	i := slices.IndexFunc(contenders, func(c contender) bool { return c.name == "scs-redis" })
	contenders = slices.Insert(contenders, i+1,
		contender{name: "scs-pgxstore", open: openSCSPostgres},
		contender{name: "scs-mysqlstore", open: openSCSMySQL},
	)
}

// openSCSPostgres opens scs's pgxstore on a schema of its own (its table is
// always named sessions), with the schema of its README, and drops the
// schema when tb ends. Its pool has the size of sesame's (20 connections),
// and no cleanup goroutine runs during the benchmark.
func openSCSPostgres(tb testing.TB, o openOptions) app {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn := envOr(postgresEnv, defaultPG)
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("%s: %v", postgresEnv, err)
	}
	schema := "scs_bench_" + randomHex(6)
	admin, err := pgxpool.New(ctx, dsn)
	if err != nil {
		tb.Fatalf("%s: %v", postgresEnv, err)
	}
	defer admin.Close()
	if err := admin.Ping(ctx); err != nil {
		unreachable(tb, postgresEnv, err)
	}
	for _, q := range []string{
		`CREATE SCHEMA ` + schema,
		`CREATE TABLE ` + schema + `.sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)`,
		`CREATE INDEX sessions_expiry_idx ON ` + schema + `.sessions (expiry)`,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			tb.Fatal(err)
		}
	}
	if o.route != nil {
		host := u.Host
		if u.Port() == "" {
			host += ":5432"
		}
		u.Host = o.addr(host)
	}
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		tb.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	if o.pgAppName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = o.pgAppName
	}
	cfg.MaxConns = sqlstore.DefaultMaxOpenConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgxpool.New(ctx, dsn)
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Logf("drop schema %s: %v", schema, err)
		}
	})
	return newSCS(pgxstore.NewWithCleanupInterval(pool, 0))
}

// openSCSMySQL opens scs's mysqlstore on a database of its own (its table
// is always named sessions), with the schema of its README, and drops the
// database when tb ends. Its *sql.DB gets the pool settings and the
// interpolateParams=true that sesame's Open uses (without it every query
// of mysqlstore would cost a prepare, an execute and a close), and no
// cleanup goroutine runs during the benchmark.
func openSCSMySQL(tb testing.TB, o openOptions) app {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn := envOr(mysqlEnv, defaultMySQL)
	if strings.HasPrefix(dsn, "mysql://") {
		tb.Skipf("%s is a mysql:// URL; the scs contender needs a go-sql-driver DSN", mysqlEnv)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		tb.Fatalf("%s: %v", mysqlEnv, err)
	}
	cfg.InterpolateParams = true
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		unreachable(tb, mysqlEnv, err)
	}
	database := "scs_bench_" + randomHex(6)
	for _, q := range []string{
		`CREATE DATABASE ` + database,
		`CREATE TABLE ` + database + `.sessions (token CHAR(43) PRIMARY KEY, data BLOB NOT NULL, expiry TIMESTAMP(6) NOT NULL)`,
		`CREATE INDEX sessions_expiry_idx ON ` + database + `.sessions (expiry)`,
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(`DROP DATABASE ` + database); err != nil {
			tb.Logf("drop database %s: %v", database, err)
		}
	})
	cfg.DBName = database
	if o.route != nil {
		cfg.Addr = o.addr(cfg.Addr)
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(sqlstore.DefaultMaxOpenConns)
	db.SetMaxIdleConns(sqlstore.DefaultMaxIdleConns)
	db.SetConnMaxLifetime(sqlstore.MySQLConnMaxLifetime)
	tb.Cleanup(func() { db.Close() })
	return newSCS(mysqlstore.NewWithCleanupInterval(db, 0))
}
