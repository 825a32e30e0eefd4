//go:build sql && redis

package main

import (
	"context"
	"crypto/rand"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/internal/redistest"
	"github.com/sesamego/sesame/sqlstore"
	"github.com/sesamego/sesame/store"
)

// The tests of this file need the SQL and Redis stores:
// go test -tags sql,redis ./examples/shop

func TestOpenBackendErrorsHideThePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, target := range []string{
		"postgres://shop:hunter2@" + addr + "/shop?connect_timeout=2",
		"mysql://shop:hunter2@" + addr + "/shop?timeout=2s",
		"redis://:hunter2@" + addr + "/0?dial_timeout=1s",
	} {
		b, err := openBackend(ctx, target, t.TempDir(), "", discard)
		if err == nil {
			b.close()
			t.Errorf("%s: no error with nothing listening", target)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
}

// serviceTarget returns a -store value for a database from the environment
// (the variables and defaults of the store tests), or skips: fails under
// SESAME_REQUIRE_SERVICES=1.
func serviceTarget(t *testing.T, kind string) string {
	t.Helper()
	var target, addr, env string
	switch kind {
	case "redis":
		env = "SESAME_REDIS_ADDR"
		addr = envOr(env, "127.0.0.1:6379")
		target = "redis://" + addr + "/0"
	case "postgres":
		env = "SESAME_POSTGRES_DSN"
		target = envOr(env, "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
		u, err := url.Parse(target)
		if err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		addr = u.Host
	case "mysql":
		env = "SESAME_MYSQL_DSN"
		dsn := envOr(env, "root@tcp(127.0.0.1:3306)/test")
		target = "mysql:" + dsn
		if i, j := strings.Index(dsn, "tcp("), strings.Index(dsn, ")"); i >= 0 && j > i {
			addr = dsn[i+4 : j]
		}
	}
	if addr != "" {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			if os.Getenv("SESAME_REQUIRE_SERVICES") == "1" {
				t.Fatalf("%s: no server at %s and SESAME_REQUIRE_SERVICES=1: %v", env, addr, err)
			}
			t.Skipf("%s: no server at %s (%v); set %s to a reachable server, or SESAME_REQUIRE_SERVICES=1 to make this a failure", env, addr, err, env)
		}
		c.Close()
	}
	return target
}

// testNamespace returns a table name or Redis prefix no other run uses;
// Redis keys under it are deleted when the test ends.
func testNamespace(t *testing.T, kind, target string) namespace {
	if kind == "redis" {
		opt, err := redis.ParseURL(target)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		t.Cleanup(func() { c.Close() })
		return namespace(strings.TrimSuffix(redistest.Prefix(t, c), ":"))
	}
	return namespace("shop_test_" + strings.ToLower(rand.Text()[:10]))
}

// dropTables removes the tables sqlstore made for ns.
func dropTables(t *testing.T, st store.Store, ns namespace) {
	s, ok := st.(*sqlstore.Store)
	if !ok {
		t.Errorf("dropTables on a %T", st)
		return
	}
	for _, suffix := range []string{"_tokens", "_locks", ""} {
		if _, err := s.DB().Exec("DROP TABLE IF EXISTS " + string(ns) + suffix); err != nil {
			t.Errorf("dropping %s%s: %v", ns, suffix, err)
		}
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// TestServiceStores runs the main flows on the server stores the README
// offers with -store: logging in, remember me (tokens in the store),
// concurrent adds and logout.
func TestServiceStores(t *testing.T) {
	for _, kind := range []string{"postgres", "mysql", "redis"} {
		t.Run(kind, func(t *testing.T) {
			target := serviceTarget(t, kind)
			ns := testNamespace(t, kind, target)
			srv := newServerWith(t, "", serverOptions{target: target, ns: ns})
			if kind != "redis" {
				// Registered after newServerWith, so it runs before the
				// store is closed.
				t.Cleanup(func() { dropTables(t, srv.app.cfg.Store, ns) })
			}
			if _, ok := srv.app.cfg.Tokens.(store.Store); !ok {
				t.Errorf("remember-me tokens are not kept by the %s store (%T)", kind, srv.app.cfg.Tokens)
			}
			c := srv.client(t)
			c.login("alice@example.com", "wonderland", true)
			c.deleteCookie("sid")
			if got := c.state().user(); got != "alice@example.com" {
				t.Fatalf("remember me on %s: user %q", kind, got)
			}
			token := c.token("/")
			done := make(chan int, 20)
			for range 20 {
				go func() {
					done <- c.post("/cart/add", url.Values{"_csrf": {token}, "sku": {"bagel"}}).StatusCode
				}()
			}
			for range 20 {
				if code := <-done; code != 303 {
					t.Errorf("add: status %d", code)
				}
			}
			if got := c.state().Cart["bagel"]; got != 20 {
				t.Errorf("20 concurrent adds on %s gave %d", kind, got)
			}
			c.submitSeeOther("/", "/logout", nil, "/")
			if got := c.state().user(); got != "" {
				t.Errorf("after logout on %s: user %q", kind, got)
			}
		})
	}
}
