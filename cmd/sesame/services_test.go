package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/internal/redistest"
	"github.com/sesamego/sesame/redisstore"
	"github.com/sesamego/sesame/sqlstore"
	"github.com/sesamego/sesame/store"
)

// The servers the service tests use, with loopback defaults. When one does
// not answer, its test is skipped, or fails when SESAME_REQUIRE_SERVICES=1.
const (
	postgresEnv     = "SESAME_POSTGRES_DSN"
	mysqlEnv        = "SESAME_MYSQL_DSN"
	requireEnv      = "SESAME_REQUIRE_SERVICES"
	defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	defaultMySQL    = "root@tcp(127.0.0.1:3306)/test?parseTime=true"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// unavailable skips the test, or fails it when services are required.
func unavailable(t *testing.T, env string, err error) {
	t.Helper()
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s: server unreachable and %s=1: %v", env, requireEnv, err)
	}
	t.Skipf("%s: server unreachable (%v); set %s to a reachable server, and %s=1 to make this a failure", env, err, env, requireEnv)
}

// pingSQL checks that the database answers.
func pingSQL(t *testing.T, driver, dsn, env string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		unavailable(t, env, err)
	}
	return db
}

func uniqueName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// backend is a store the CLI is tested on: the flags that name it, and the
// same store opened the way an app opens it.
type backend struct {
	name string
	open func(t *testing.T) (flags []string, st store.Store, sql bool)
}

var backends = []backend{
	{"sqlite", func(t *testing.T) ([]string, store.Store, bool) {
		path := filepath.Join(t.TempDir(), "sessions.db")
		return sqlBackend(t, path, path, nil)
	}},
	{"postgres", func(t *testing.T) ([]string, store.Store, bool) {
		dsn := envOr(postgresEnv, defaultPostgres)
		db := pingSQL(t, "pgx", dsn, postgresEnv)
		return sqlBackend(t, dsn, dsn, db)
	}},
	{"mysql", func(t *testing.T) ([]string, store.Store, bool) {
		dsn := envOr(mysqlEnv, defaultMySQL)
		db := pingSQL(t, "mysql", dsn, mysqlEnv)
		return sqlBackend(t, "mysql:"+dsn, "mysql:"+dsn, db)
	}},
	{"redis", func(t *testing.T) ([]string, store.Store, bool) {
		addr := redistest.Addr(t) // skips or fails, naming SESAME_REDIS_ADDR
		client := redistest.NewClient(t)
		prefix := redistest.Prefix(t, client) // removed when the test ends
		u := "redis://" + addr + "/0"
		st, err := redisstore.Open(u, redisstore.Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return []string{"--store", u, "--prefix", prefix}, st, false
	}},
	{"file", func(t *testing.T) ([]string, store.Store, bool) {
		dir := t.TempDir()
		st, err := filestore.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		return []string{"--store", "file:" + dir}, st, false
	}},
}

// sqlBackend migrates a fresh table through the CLI and opens a store on it
// as an app would. db, when not nil, drops the tables at the end.
func sqlBackend(t *testing.T, cliURL, appURL string, db *sql.DB) ([]string, store.Store, bool) {
	t.Helper()
	table := uniqueName("sesame_cli_")
	flags := []string{"--store", cliURL, "--table", table}
	if db != nil {
		t.Cleanup(func() {
			for _, tb := range []string{table, table + "_locks", table + "_tokens", table + "_ops", table + "_migrations"} {
				if _, err := db.Exec("DROP TABLE IF EXISTS " + tb); err != nil {
					t.Errorf("dropping %s: %v", tb, err)
				}
			}
		})
	}
	r := realCmd(t, append([]string{"migrate"}, flags...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "schema of table "+table+" is up to date") {
		t.Fatalf("sesame migrate = %+v", r)
	}
	// Migrating twice is harmless.
	if r := realCmd(t, append([]string{"migrate", "--json"}, flags...)...); r.code != 0 || !strings.Contains(r.stdout, `"migrated": true`) {
		t.Fatalf("sesame migrate again = %+v", r)
	}
	st, err := sqlstore.Open(context.Background(), appURL, sqlstore.Options{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return flags, st, true
}

// realCmd runs the command with the real clock.
func realCmd(t *testing.T, args ...string) result {
	t.Helper()
	c, out, errOut := testCLI(nil)
	c.now = time.Now
	return runWith(t, c, out, errOut, args...)
}

// shop is a small app on a store, as the demo app uses sesame.
type shop struct {
	t   *testing.T
	srv *httptest.Server
	m   *sesame.Manager
}

func newShop(t *testing.T, st store.Store) *shop {
	m, err := sesame.New(sesame.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		if err := s.Regenerate(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		user := r.URL.Query().Get("user")
		s.SetUser(user)
		s.Put("user", user)
	})
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		cart := sesame.GetOr(s, "cart", []string{})
		s.Put("cart", append(cart, r.URL.Query().Get("add")))
	})
	mux.HandleFunc("POST /theme", func(w http.ResponseWriter, r *http.Request) {
		sesame.From(r).Put("theme", r.URL.Query().Get("v"))
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sesame.From(r).UserID())
	})
	srv := httptest.NewTLSServer(m.Handler(mux))
	t.Cleanup(srv.Close)
	return &shop{t: t, srv: srv, m: m}
}

// browser is a client with its own cookie jar.
type browser struct {
	s *shop
	c *http.Client
}

func (s *shop) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *s.srv.Client()
	c.Jar = jar
	return &browser{s, &c}
}

func (b *browser) do(method, path string) string {
	b.s.t.Helper()
	req, _ := http.NewRequest(method, b.s.srv.URL+path, nil)
	resp, err := b.c.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.s.t.Fatalf("%s %s: %s %s", method, path, resp.Status, body)
	}
	return string(body)
}

// id returns the browser's session ID, the cookie's value.
func (b *browser) id() string {
	u, _ := url.Parse(b.s.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == b.s.m.CookieName() {
			return c.Value
		}
	}
	b.s.t.Fatal("the browser has no session cookie")
	return ""
}

func listJSON(t *testing.T, flags []string, extra ...string) []session {
	t.Helper()
	r := realCmd(t, append(append([]string{"sessions", "list", "--json"}, flags...), extra...)...)
	if r.code != 0 {
		t.Fatalf("sessions list = %+v", r)
	}
	var ss []session
	if err := json.Unmarshal([]byte(r.stdout), &ss); err != nil {
		t.Fatalf("sessions list --json: %v\n%s", err, r.stdout)
	}
	return ss
}

func hashes(ss []session) []string {
	var hs []string
	for _, s := range ss {
		hs = append(hs, s.Hash)
	}
	slices.Sort(hs)
	return hs
}

func keys(ids ...string) []string {
	var ks []string
	for _, id := range ids {
		ks = append(ks, store.Key(id))
	}
	slices.Sort(ks)
	return ks
}

// TestSessionsOfARealApp creates sessions through a sesame app on each
// server store and inspects, deletes and prunes them with the CLI.
func TestSessionsOfARealApp(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			flags, st, isSQL := be.open(t)
			app := newShop(t, st)

			laptop, phone, guest := app.browser(), app.browser(), app.browser()
			laptop.do("POST", "/login?user=alice")
			laptop.do("POST", "/cart?add=tea")
			laptop.do("POST", "/cart?add=cake")
			phone.do("POST", "/login?user=alice")
			guest.do("POST", "/theme?v=dark")

			// list
			all := listJSON(t, flags)
			if got, want := hashes(all), keys(laptop.id(), phone.id(), guest.id()); !slices.Equal(got, want) {
				t.Fatalf("list shows %v, want the app's sessions %v", got, want)
			}
			if got := hashes(listJSON(t, flags, "--user", "alice")); !slices.Equal(got, keys(laptop.id(), phone.id())) {
				t.Errorf("list --user alice = %v, want laptop and phone", got)
			}
			r := realCmd(t, append([]string{"sessions", "list"}, flags...)...)
			if r.code != 0 || !strings.Contains(r.stdout, "3 sessions") || !strings.Contains(r.stdout, shortHash(store.Key(guest.id()))) {
				t.Errorf("sessions list (human) = %+v", r)
			}

			// show, by a prefix of the hash
			prefix := store.Key(laptop.id())[:10]
			r = realCmd(t, append([]string{"sessions", "show", "--json", prefix}, flags...)...)
			var shown session
			if err := json.Unmarshal([]byte(r.stdout), &shown); r.code != 0 || err != nil {
				t.Fatalf("sessions show %s = %+v (%v)", prefix, r, err)
			}
			var cart bytes.Buffer
			json.Compact(&cart, shown.Values["cart"])
			if shown.User != "alice" || cart.String() != `["tea","cake"]` || shown.Hash != store.Key(laptop.id()) {
				t.Errorf("sessions show = %+v, want alice's laptop with its cart", shown)
			}
			if !shown.Expires.After(time.Now()) || shown.Created.After(time.Now()) || shown.Size == 0 {
				t.Errorf("sessions show: times or size wrong: %+v", shown)
			}

			// stats
			r = realCmd(t, append([]string{"stats", "--json"}, flags...)...)
			var s stats
			if err := json.Unmarshal([]byte(r.stdout), &s); r.code != 0 || err != nil {
				t.Fatalf("stats = %+v (%v)", r, err)
			}
			if s.Sessions != 3 || s.Users != 1 || s.Anonymous != 1 || len(s.TopUsers) != 1 || s.TopUsers[0] != (userCount{"alice", 2}) {
				t.Errorf("stats = %+v, want 3 sessions, alice with 2, 1 anonymous", s)
			}

			// delete the laptop's session by its ID: the laptop is logged out.
			r = realCmd(t, append([]string{"sessions", "delete", laptop.id()}, flags...)...)
			if r.code != 0 || !strings.Contains(r.stdout, "deleted session "+shortHash(store.Key(laptop.id()))) {
				t.Fatalf("sessions delete = %+v", r)
			}
			if who := laptop.do("GET", "/whoami"); who != "" {
				t.Errorf("after delete, the laptop is still logged in as %q", who)
			}
			if who := phone.do("GET", "/whoami"); who != "alice" {
				t.Errorf("deleting the laptop's session logged out the phone too (whoami %q)", who)
			}
			r = realCmd(t, append([]string{"sessions", "show", prefix}, flags...)...)
			if r.code != exitNotFound {
				t.Errorf("show of a deleted session: exit %d, want 3", r.code)
			}

			// prune: an expired record the app left behind.
			now := time.Now()
			dead := store.Key(fakeID("dead-" + be.name))
			err := st.Apply(context.Background(), dead, store.Change{
				Create: true, Set: map[string][]byte{"x": []byte("1")},
				Now: now.Add(-2 * time.Hour), Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour),
			})
			if err != nil {
				t.Fatalf("storing an expired record: %v", err)
			}
			r = realCmd(t, append([]string{"sessions", "prune", "--json"}, flags...)...)
			var pruned struct{ Pruned int }
			if err := json.Unmarshal([]byte(r.stdout), &pruned); r.code != 0 || err != nil {
				t.Fatalf("sessions prune = %+v (%v)", r, err)
			}
			// Redis expires records itself; the others keep them until pruned.
			if want := 1; be.name != "redis" && pruned.Pruned != want {
				t.Errorf("prune deleted %d records, want %d", pruned.Pruned, want)
			}
			if got := hashes(listJSON(t, flags)); !slices.Equal(got, keys(phone.id(), guest.id())) {
				t.Errorf("after prune, list = %v, want the phone and the guest", got)
			}

			// A prune on a terminal draws a progress bar.
			if isSQL || be.name == "file" {
				dead2 := store.Key(fakeID("dead2-" + be.name))
				if err := st.Apply(context.Background(), dead2, store.Change{Create: true, Now: now.Add(-2 * time.Hour),
					Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}); err != nil {
					t.Fatal(err)
				}
				c, out, errOut := testCLI(nil)
				c.now, c.tty = time.Now, true
				r := runWith(t, c, out, errOut, append([]string{"sessions", "prune"}, flags...)...)
				if r.code != 0 || !strings.Contains(r.stdout, "\rpruning [") || !strings.Contains(r.stdout, "1/1 100%\n") ||
					!strings.HasSuffix(r.stdout, "pruned 1 expired session\n") {
					t.Errorf("prune on a terminal = %q (exit %d, %s)", r.stdout, r.code, r.stderr)
				}
			}

			// Log alice out everywhere.
			r = realCmd(t, append([]string{"sessions", "delete", "--user", "alice", "--json"}, flags...)...)
			var del deleted
			if err := json.Unmarshal([]byte(r.stdout), &del); r.code != 0 || err != nil || del.Deleted != 1 {
				t.Errorf("delete --user alice = %+v (%v), want 1 deleted", r, err)
			}
			if who := phone.do("GET", "/whoami"); who != "" {
				t.Errorf("after delete --user, the phone is still logged in as %q", who)
			}
			if got := hashes(listJSON(t, flags)); !slices.Equal(got, keys(guest.id())) {
				t.Errorf("at the end, list = %v, want only the guest", got)
			}
		})
	}
}

func TestProgressBarForStoresThatCannotCount(t *testing.T) {
	var buf bytes.Buffer
	bar := &progressBar{w: &buf, label: "pruning", width: 10}
	bar.draw(0, -1, 0)
	bar.draw(0, -1, 1500*time.Millisecond)
	bar.draw(3, 3, 2*time.Second)
	bar.end()
	want := "\rpruning | 0s\rpruning - 1s\rpruning [##########] 3/3 100%\n"
	if buf.String() != want {
		t.Errorf("bar drew %q, want %q", buf.String(), want)
	}
	buf.Reset()
	bar = &progressBar{w: &buf, label: "pruning", width: 4}
	bar.draw(1, 4, 0)
	bar.draw(0, 0, 0)
	if want := "\rpruning [#...] 1/4  25%\rpruning [####] 0/0 100%"; buf.String() != want {
		t.Errorf("bar drew %q, want %q", buf.String(), want)
	}
}

func TestUnreachableStoreFailsWithoutLeakingThePassword(t *testing.T) {
	for _, u := range []string{
		"postgres://app:s3cr3t-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"mysql://app:s3cr3t-pw@127.0.0.1:1/db?timeout=2s",
		"redis://:s3cr3t-pw@127.0.0.1:1/0?dial_timeout=2s&max_retries=-1",
	} {
		r := realCmd(t, "sessions", "list", "--store", u, "--timeout", "10s")
		if r.code != exitFailure {
			t.Errorf("list on %s: exit %d, want 1 (%s)", u, r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "s3cr3t-pw") || strings.Contains(r.stdout, "s3cr3t-pw") {
			t.Errorf("the error repeats the password: %s", r.stderr)
		}
	}
}
