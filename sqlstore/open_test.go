package sqlstore

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sesamego/sesame/store"
)

func TestParseTarget(t *testing.T) {
	const pragmas = "?" + sqlitePragmas
	tests := []struct {
		name    string
		target  string
		dialect Dialect
		dsn     string // for pgx and sqlite
		mysql   func(t *testing.T, c *mysql.Config)
		memory  bool
		wantErr bool
	}{
		{name: "a postgres URL", target: "postgres://u:p@db:5432/app?sslmode=disable", dialect: Postgres,
			dsn: "postgres://u:p@db:5432/app?sslmode=disable"},
		{name: "a postgresql URL", target: "postgresql://db/app", dialect: Postgres, dsn: "postgresql://db/app"},
		{name: "an upper-case scheme", target: "POSTGRES://db/app", dialect: Postgres, dsn: "POSTGRES://db/app"},
		{name: "postgres without //", target: "postgres:db/app", wantErr: true},
		{name: "a mysql URL", target: "mysql://app:s%40cret@db:3307/shop?tls=skip-verify&timeout=3s", dialect: MySQL,
			mysql: func(t *testing.T, c *mysql.Config) {
				if c.User != "app" || c.Passwd != "s@cret" || c.Net != "tcp" || c.Addr != "db:3307" || c.DBName != "shop" ||
					c.TLSConfig != "skip-verify" || c.Timeout != 3*time.Second {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "a mysql URL without port", target: "mysql://app@db/shop", dialect: MySQL,
			mysql: func(t *testing.T, c *mysql.Config) {
				if c.Addr != "db:3306" || c.Passwd != "" {
					t.Errorf("got address %q, password %q, want db:3306 and none", c.Addr, c.Passwd)
				}
			}},
		{name: "a mysql URL with an IPv6 host", target: "mysql://app@[::1]/shop", dialect: MySQL,
			mysql: func(t *testing.T, c *mysql.Config) {
				if c.Addr != "[::1]:3306" {
					t.Errorf("got address %q, want [::1]:3306", c.Addr)
				}
			}},
		{name: "a mysql URL over a socket", target: "mysql://app@/shop?socket=/run/mysqld/mysqld.sock", dialect: MySQL,
			mysql: func(t *testing.T, c *mysql.Config) {
				if c.Net != "unix" || c.Addr != "/run/mysqld/mysqld.sock" || len(c.Params) != 0 {
					t.Errorf("got %s %s, params %v, want the socket", c.Net, c.Addr, c.Params)
				}
			}},
		{name: "a mysql URL that turns interpolation off", target: "mysql://app@db/shop?interpolateParams=false", dialect: MySQL,
			mysql: func(t *testing.T, c *mysql.Config) {
				if c.InterpolateParams {
					t.Error("got interpolateParams on, want it off as asked")
				}
			}},
		{name: "a mysql URL with a bad parameter", target: "mysql://app@db/shop?parseTime=maybe", wantErr: true},
		{name: "a driver DSN", target: "mysql:root@tcp(127.0.0.1:3306)/test", dialect: MySQL,
			mysql: func(t *testing.T, c *mysql.Config) {
				if c.User != "root" || c.Addr != "127.0.0.1:3306" || c.DBName != "test" {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "a driver DSN that turns interpolation off", target: "mysql:root@tcp(h)/test?interpolateParams=false", dialect: MySQL,
			mysql: func(t *testing.T, c *mysql.Config) {
				if c.InterpolateParams {
					t.Error("got interpolateParams on, want it off as asked")
				}
			}},
		{name: "sqlite with an absolute path", target: "sqlite:/var/lib/app/s.db", dialect: SQLite, dsn: "file:/var/lib/app/s.db" + pragmas},
		{name: "sqlite with a relative path", target: "sqlite:data/s.db", dialect: SQLite, dsn: "file:data/s.db" + pragmas},
		{name: "sqlite with three slashes", target: "sqlite:///tmp/s.db", dialect: SQLite, dsn: "file:/tmp/s.db" + pragmas},
		{name: "sqlite with a path needing escapes", target: "sqlite:/tmp/my s?#.db", dialect: SQLite, dsn: "file:/tmp/my%20s%3F%23.db" + pragmas},
		{name: "sqlite in memory", target: "sqlite::memory:", dialect: SQLite, dsn: "file::memory:" + pragmas, memory: true},
		{name: "sqlite without a path", target: "sqlite:", wantErr: true},
		{name: "a file URI", target: "file:s.sqlite?mode=rwc", dialect: SQLite, dsn: "file:s.sqlite?mode=rwc&" + sqlitePragmas},
		{name: "a path ending in .db", target: "/var/lib/app/sessions.db", dialect: SQLite, dsn: "file:/var/lib/app/sessions.db" + pragmas},
		{name: "a path ending in .sqlite3", target: "sessions.SQLITE3", dialect: SQLite, dsn: "file:sessions.SQLITE3" + pragmas},
		{name: "a redis URL", target: "redis://localhost:6379", wantErr: true},
		{name: "a path without a known extension", target: "/var/lib/app/sessions", wantErr: true},
		{name: "the empty string", target: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTarget(tt.target)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.dialect != tt.dialect || got.memory != tt.memory {
				t.Errorf("got dialect %v, memory %v, want %v, %v", got.dialect, got.memory, tt.dialect, tt.memory)
			}
			if tt.mysql != nil {
				if got.mysql == nil {
					t.Fatal("got no MySQL configuration")
				}
				if !got.mysql.ParseTime {
					t.Error("got parseTime off, want it on")
				}
				if !strings.Contains(tt.target, "interpolateParams") && !got.mysql.InterpolateParams {
					t.Error("got interpolateParams off, want it on by default")
				}
				tt.mysql(t, got.mysql)
				return
			}
			if got.dsn != tt.dsn {
				t.Errorf("got DSN %q, want %q", got.dsn, tt.dsn)
			}
		})
	}
}

func TestDialectOf(t *testing.T) {
	for target, want := range map[string]Dialect{
		"postgres://db/app": Postgres, "mysql://db/app": MySQL, "sqlite:s.db": SQLite, "s.sqlite": SQLite,
	} {
		if got, err := DialectOf(target); got != want || err != nil {
			t.Errorf("DialectOf(%q): got %v, %v, want %v", target, got, err, want)
		}
	}
	if _, err := DialectOf("redis://db"); err == nil {
		t.Error("DialectOf(redis://db): got no error")
	}
}

func TestParseTargetHidesPasswords(t *testing.T) {
	for _, target := range []string{
		"mysql://app:hunter2@db:port/shop",
		"mysql://app:hunter2@db/shop?parseTime=maybe",
		"mysql:app:hunter2@tcp(db:3306/shop",
		"mongodb://app:hunter2@db/shop",
	} {
		_, err := parseTarget(target)
		if err == nil {
			t.Errorf("%s: got no error", target)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("got %q, which repeats the password", err)
		}
	}
}

func TestOpen(t *testing.T) {
	mysqlTarget := func(t *testing.T) string {
		dsn := envOr(mysqlEnv, defaultMySQL)
		if strings.HasPrefix(dsn, "mysql://") {
			return dsn
		}
		// Exercise the URL form against the real server.
		c, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatalf("%s: %v", mysqlEnv, err)
		}
		u := url.URL{Scheme: "mysql", Host: c.Addr, Path: "/" + c.DBName}
		if c.Passwd != "" {
			u.User = url.UserPassword(c.User, c.Passwd)
		} else {
			u.User = url.User(c.User)
		}
		return u.String()
	}
	tests := []struct {
		name   string
		env    string
		target func(t *testing.T) string
	}{
		{"postgres", postgresEnv, func(*testing.T) string { return envOr(postgresEnv, defaultPostgres) }},
		{"mysql URL", mysqlEnv, mysqlTarget},
		{"mysql DSN", mysqlEnv, func(*testing.T) string { return "mysql:" + strings.TrimPrefix(envOr(mysqlEnv, defaultMySQL), "mysql:") }},
		{"sqlite", "", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "a dir", "..", "s s.db") }},
		{"sqlite path", "", func(t *testing.T) string { return filepath.Join(t.TempDir(), "sessions.sqlite") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := tt.target(t)
			if tt.name == "mysql DSN" && strings.HasPrefix(target, "mysql:mysql://") {
				t.Skip("the MySQL address is a URL")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := Open(ctx, target, Options{Table: tableName()})
			if errors.Is(err, store.ErrUnavailable) && tt.env != "" {
				unreachable(t, tt.env, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			defer func() {
				for _, tb := range tables(s) {
					s.DB().Exec("DROP TABLE IF EXISTS " + s.dialect.quote(tb))
				}
			}()
			c := newClock()
			create(t, s, c, key("open"), map[string]string{"a": `"b"`})
			if got := string(mustLoad(t, s, key("open")).Values["a"]); got != `"b"` {
				t.Errorf("got %s, want \"b\"", got)
			}
			if s.Dialect() == SQLite {
				var mode string
				if err := s.DB().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
					t.Errorf("got journal mode %q, %v, want wal", mode, err)
				}
			}
		})
	}
}

func TestOpenUnreachable(t *testing.T) {
	for _, target := range []string{
		"postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5",
		"mysql://root@127.0.0.1:1/test?timeout=5s",
		"sqlite:" + filepath.Join(t.TempDir(), "no", "such", "dir", "s.db"),
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		s, err := Open(ctx, target, Options{})
		cancel()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s: got %v, %v, want an error wrapping ErrUnavailable", target, s, err)
		}
	}
}
