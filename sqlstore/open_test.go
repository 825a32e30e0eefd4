package sqlstore

import (
	"context"
	"database/sql"
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
	tests := []struct {
		name    string
		target  string
		dialect Dialect
		addr    string // what the engine opens
		memory  bool
		wantErr bool
	}{
		{name: "a postgres URL", target: "postgres://u:p@db:5432/app?sslmode=disable", dialect: Postgres,
			addr: "postgres://u:p@db:5432/app?sslmode=disable"},
		{name: "a postgresql URL", target: "postgresql://db/app", dialect: Postgres, addr: "postgresql://db/app"},
		{name: "an upper-case scheme", target: "POSTGRES://db/app", dialect: Postgres, addr: "POSTGRES://db/app"},
		{name: "postgres without //", target: "postgres:db/app", wantErr: true},
		{name: "a mysql URL", target: "mysql://app:s%40cret@db:3307/shop?tls=skip-verify", dialect: MySQL,
			addr: "mysql://app:s%40cret@db:3307/shop?tls=skip-verify"},
		{name: "a driver DSN", target: "mysql:root@tcp(127.0.0.1:3306)/test", dialect: MySQL,
			addr: "mysql:root@tcp(127.0.0.1:3306)/test"},
		{name: "sqlite with an absolute path", target: "sqlite:/var/lib/app/s.db", dialect: SQLite, addr: "file:/var/lib/app/s.db"},
		{name: "sqlite with a relative path", target: "sqlite:data/s.db", dialect: SQLite, addr: "file:data/s.db"},
		{name: "sqlite with three slashes", target: "sqlite:///tmp/s.db", dialect: SQLite, addr: "file:/tmp/s.db"},
		{name: "sqlite with a path needing escapes", target: "sqlite:/tmp/my s?#.db", dialect: SQLite, addr: "file:/tmp/my%20s%3F%23.db"},
		{name: "sqlite in memory", target: "sqlite::memory:", dialect: SQLite, addr: "file::memory:", memory: true},
		{name: "sqlite without a path", target: "sqlite:", wantErr: true},
		{name: "a file URI", target: "file:s.sqlite?mode=rwc", dialect: SQLite, addr: "file:s.sqlite?mode=rwc"},
		{name: "a file URI in memory", target: "file:x?mode=memory&cache=shared", dialect: SQLite,
			addr: "file:x?mode=memory&cache=shared", memory: true},
		{name: "a path ending in .db", target: "/var/lib/app/sessions.db", dialect: SQLite, addr: "file:/var/lib/app/sessions.db"},
		{name: "a path ending in .sqlite3", target: "sessions.SQLITE3", dialect: SQLite, addr: "file:sessions.SQLITE3"},
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
			if got.addr != tt.addr {
				t.Errorf("got address %q, want %q", got.addr, tt.addr)
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
		tg, err := parseTarget(target)
		if err == nil {
			// The engine parses the driver's part.
			var db *sql.DB
			if db, err = tg.open(); err == nil {
				db.Close()
			}
		}
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
