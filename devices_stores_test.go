package sesame

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"

	"github.com/sesamego/sesame/internal/redistest"
	"github.com/sesamego/sesame/redisstore"
	"github.com/sesamego/sesame/sqlstore"
)

// The devices suite on the shared stores users run in production.

func TestDevicesOnRedis(t *testing.T) {
	c := redistest.NewClient(t)
	st, err := redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	devicesSuite(t, st)
}

func TestDevicesOnRedisCluster(t *testing.T) {
	addrs := redistest.StartCluster(t)
	c := redistest.NewClusterClient(t, addrs)
	st, err := redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	devicesSuite(t, st)
}

func TestDevicesOnPostgres(t *testing.T) {
	dsn := envOr("SESAME_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	devicesSuite(t, openSQL(t, "SESAME_POSTGRES_DSN", dsn))
}

func TestDevicesOnMySQL(t *testing.T) {
	devicesSuite(t, openSQL(t, "SESAME_MYSQL_DSN", mysqlTarget()))
}

func TestDevicesOnSQLite(t *testing.T) {
	devicesSuite(t, openSQL(t, "", "sqlite:"+t.TempDir()+"/s.db"))
}

// openSQL opens a sqlstore on a fresh table, dropped when the test ends.
func openSQL(t *testing.T, env, dsn string) *sqlstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	table := "devices_" + strings.ToLower(rand.Text()[:10])
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Table: table})
	if err == nil {
		err = st.Migrate(ctx)
	}
	if err != nil {
		if env != "" {
			redistest.Unavailable(t, "no database at %s: %v", env, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, tb := range []string{table, table + "_locks", table + "_tokens"} {
			if _, err := st.DB().ExecContext(ctx, "DROP TABLE IF EXISTS "+tb); err != nil {
				t.Errorf("dropping %s: %v", tb, err)
			}
		}
		st.Close()
	})
	return st
}

// flowsSuite runs the manager's main flows on st: the same behaviour must
// hold on every store.
func flowsSuite(t *testing.T, st store.Store) {
	t.Run("races", func(t *testing.T) { raceSuite(t, st) })
	t.Run("a bad user ID is the app's error", func(t *testing.T) { badUserIDSuite(t, st) })
	t.Run("put and get across requests", func(t *testing.T) {
		app := newTestApp(t, Config{Store: st})
		app.get("/put?k=v")
		if got := app.get("/get?k=k"); got != "v" {
			t.Errorf("got %q, want v", got)
		}
	})
	t.Run("regenerate keeps data and kills the old ID", func(t *testing.T) {
		app := newTestApp(t, Config{Store: st})
		app.get("/put?cart=3")
		before := app.sessionCookie(app.client)
		app.get("/login")
		if after := app.sessionCookie(app.client); after == before {
			t.Fatal("ID did not change")
		}
		if got := app.get("/get?k=cart"); got != "3" {
			t.Errorf("cart = %q after regenerate", got)
		}
		if _, body := app.do(app.withCookie(before), "GET", "/get?k=cart"); body != "" {
			t.Errorf("old ID still loads %q", body)
		}
	})
	t.Run("logout replay gives an empty session", func(t *testing.T) {
		app := newTestApp(t, Config{Store: st})
		app.get("/login")
		old := app.sessionCookie(app.client)
		app.do(app.client, "POST", "/logout")
		if _, body := app.do(app.withCookie(old), "GET", "/get?k=user"); body != "" {
			t.Errorf("pre-logout cookie shows %q", body)
		}
	})
	t.Run("a flash is consumed exactly once under a race", func(t *testing.T) {
		app := newTestApp(t, Config{Store: st})
		for round := 0; round < 5; round++ {
			app.get("/flash?v=once")
			var wg sync.WaitGroup
			var seen atomic.Int64
			for i := 0; i < 6; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if app.get("/show-flash") == "once" {
						seen.Add(1)
					}
				}()
			}
			wg.Wait()
			if seen.Load() != 1 {
				t.Fatalf("round %d: flash seen %d times", round, seen.Load())
			}
		}
	})
	t.Run("concurrent requests lose nothing", func(t *testing.T) {
		const n = 50 // per kind; storetest checks 100 writers at the store level
		app := newTestApp(t, Config{Store: st, StoreTimeout: 30 * time.Second})
		app.get("/put?seed=1")
		var wg sync.WaitGroup
		var failed atomic.Int64
		do := func(path string) {
			defer wg.Done()
			resp, body := app.do(app.client, "GET", path)
			if resp.StatusCode != 200 {
				failed.Add(1)
				t.Logf("%s: %d %s", path, resp.StatusCode, body)
			}
		}
		for i := 0; i < n; i++ {
			wg.Add(2)
			go do(fmt.Sprintf("/put?key%d=v", i))
			go do("/incr")
		}
		wg.Wait()
		if failed.Load() != 0 {
			t.Fatalf("%d of %d requests failed", failed.Load(), 2*n)
		}
		var all map[string]any
		json.Unmarshal([]byte(app.get("/all")), &all)
		lost := 0
		for i := 0; i < n; i++ {
			if all[fmt.Sprintf("key%d", i)] != "v" {
				lost++
			}
		}
		if lost != 0 || all["n"] != float64(n) {
			t.Errorf("lost %d keys, counter %v (want 0 lost, %d)", lost, all["n"], n)
		}
	})
}

func TestFlowsOnEveryStore(t *testing.T) {
	t.Run("memstore", func(t *testing.T) { flowsSuite(t, memstore.New()) })
	t.Run("filestore", func(t *testing.T) {
		fs, err := filestore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		flowsSuite(t, fs)
	})
	t.Run("redis", func(t *testing.T) {
		c := redistest.NewClient(t)
		st, err := redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(t, c)})
		if err != nil {
			t.Fatal(err)
		}
		flowsSuite(t, st)
	})
	t.Run("redis cluster", func(t *testing.T) {
		c := redistest.NewClusterClient(t, redistest.StartCluster(t))
		st, err := redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(t, c)})
		if err != nil {
			t.Fatal(err)
		}
		flowsSuite(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := envOr("SESAME_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
		flowsSuite(t, openSQL(t, "SESAME_POSTGRES_DSN", dsn))
	})
	t.Run("mysql", func(t *testing.T) {
		flowsSuite(t, openSQL(t, "SESAME_MYSQL_DSN", mysqlTarget()))
	})
	t.Run("sqlite", func(t *testing.T) { flowsSuite(t, openSQL(t, "", "sqlite:"+t.TempDir()+"/s.db")) })
}

// mysqlTarget is the MySQL store target for sqlstore.Open: SESAME_MYSQL_DSN
// in the driver's form, as README.md documents it (root@tcp(host:port)/db,
// the default, which every package's tests read), or already a mysql: or
// mysql:// target.
func mysqlTarget() string {
	dsn := envOr("SESAME_MYSQL_DSN", "root@tcp(127.0.0.1:3306)/test")
	if strings.HasPrefix(dsn, "mysql:") {
		return dsn
	}
	return "mysql:" + dsn
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
