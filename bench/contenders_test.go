package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	scsredis "github.com/alexedwards/scs/redisstore"
	scs "github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	redigo "github.com/gomodule/redigo/redis"
	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/cookies"
	"github.com/sesamego/sesame/cookiestore"
	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/redisstore"
	"github.com/sesamego/sesame/seal"
	"github.com/sesamego/sesame/sqlstore"
	_ "github.com/sesamego/sesame/sqlstore/mysql" // the engines of the SQL contenders
	_ "github.com/sesamego/sesame/sqlstore/postgres"
	_ "github.com/sesamego/sesame/sqlstore/sqlite"
	"github.com/sesamego/sesame/store"
)

// The session that READ, WRITE and UNTOUCHED requests carry holds an int and
// a string.
const (
	seedN    = 41
	seedName = "gopher"
)

var okBody = []byte("ok")

// An app is one contender: a session library on a store, with one handler
// per scenario. Every handler of every contender writes the same body for the
// same scenario, so the difference between contenders is the session work.
type app interface {
	// Handler wraps next in the library's middleware (the identity for
	// libraries without one).
	Handler(next http.Handler) http.Handler
	// Seed stores n = 41 and name = "gopher" in a new session.
	Seed(w http.ResponseWriter, r *http.Request)
	// Read reads n and name and writes "41 gopher".
	Read(w http.ResponseWriter, r *http.Request)
	// Write increments n and writes the new value.
	Write(w http.ResponseWriter, r *http.Request)
	// New puts name = "gopher" (on a request without a session).
	New(w http.ResponseWriter, r *http.Request)
	// Set loads the session, waits work, then sets key (the lost-update
	// probe).
	Set(w http.ResponseWriter, r *http.Request, key string, work time.Duration)
	// Count writes how many keys starting with "k" the session holds.
	Count(w http.ResponseWriter, r *http.Request)
	// StoreCalls counts the store calls made so far, or is nil when the
	// contender has no store to count.
	StoreCalls() *atomic.Int64
}

// untouched is the UNTOUCHED handler: it never looks at the session.
func untouched(w http.ResponseWriter, r *http.Request) { w.Write(okBody) }

func writeRead(w http.ResponseWriter, n int, name string) {
	b := make([]byte, 0, 32)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ' ')
	b = append(b, name...)
	w.Write(b)
}

func writeInt(w http.ResponseWriter, n int64) {
	w.Write(strconv.AppendInt(make([]byte, 0, 20), n, 10))
}

// openOptions says how a contender is set up.
type openOptions struct {
	// plainHTTP makes session cookies work over http:// (for
	// httptest.NewServer and a cookie jar).
	plainHTTP bool
	// route, when set, maps a server's host:port to the address to dial
	// instead (the round-trip counting proxy).
	route func(addr string) string
	// pgAppName, when set, is the application_name of the PostgreSQL
	// contenders' connections, by which TestServerCPU finds their server
	// processes.
	pgAppName string
}

func (o openOptions) addr(a string) string {
	if o.route == nil {
		return a
	}
	return o.route(a)
}

type contender struct {
	name string
	// cookie marks a store that keeps the whole session in the client's
	// cookies: it cannot merge concurrent changes.
	cookie bool
	// sesame marks sesame's own contenders.
	sesame bool
	open   func(tb testing.TB, o openOptions) app
}

// contenders in the order of the tables.
var contenders = []contender{
	{name: "bare", open: openBare},
	{name: "bare-ctx", open: openBareCtx},
	{name: "bare-wrap", open: openBareWrap},
	{name: "sesame-memstore", sesame: true, open: openSesameMem},
	{name: "sesame-filestore", sesame: true, open: openSesameFile},
	{name: "sesame-cookiestore", sesame: true, cookie: true, open: openSesameCookie},
	{name: "sesame-redis", sesame: true, open: openSesameRedis},
	{name: "sesame-postgres", sesame: true, open: openSesamePostgres},
	{name: "sesame-mysql", sesame: true, open: openSesameMySQL},
	{name: "sesame-sqlite", sesame: true, open: openSesameSQLite},
	{name: "scs-memstore", open: openSCSMem},
	{name: "scs-redis", open: openSCSRedis},
	{name: "gorilla-cookie", cookie: true, open: openGorillaCookie},
	{name: "gorilla-filesystem", open: openGorillaFile},
}

// Environment variables naming the servers, as in sesame's own store tests.
const (
	redisEnv     = "SESAME_REDIS_ADDR"
	postgresEnv  = "SESAME_POSTGRES_DSN"
	mysqlEnv     = "SESAME_MYSQL_DSN"
	requireEnv   = "SESAME_REQUIRE_SERVICES"
	defaultRedis = "127.0.0.1:6379"
	defaultPG    = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	defaultMySQL = "root@tcp(127.0.0.1:3306)/test?parseTime=true"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// unreachable skips tb (or fails it when SESAME_REQUIRE_SERVICES=1).
func unreachable(tb testing.TB, env string, err error) {
	tb.Helper()
	if os.Getenv(requireEnv) == "1" {
		tb.Fatalf("%s: server unreachable and %s=1: %v", env, requireEnv, err)
	}
	tb.Skipf("server unreachable (%v): set %s to a reachable server to run this contender", err, env)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Keys shared by the cookie contenders.
var (
	hashKey  = bytes.Repeat([]byte{7}, 32)
	blockKey = bytes.Repeat([]byte{9}, 32)
)

// --- bare ---------------------------------------------------------------

// bareApp is a plain net/http handler with no session: the floor.
type bareApp struct{ n atomic.Int64 }

// Package variables, so the compiler cannot fold the READ response.
var bareN, bareName = seedN, seedName

func openBare(testing.TB, openOptions) app                      { return &bareApp{} }
func (a *bareApp) Handler(next http.Handler) http.Handler       { return next }
func (a *bareApp) Seed(w http.ResponseWriter, r *http.Request)  { w.Write(okBody) }
func (a *bareApp) Read(w http.ResponseWriter, r *http.Request)  { writeRead(w, bareN, bareName) }
func (a *bareApp) Write(w http.ResponseWriter, r *http.Request) { writeInt(w, a.n.Add(1)) }
func (a *bareApp) New(w http.ResponseWriter, r *http.Request)   { w.Write(okBody) }
func (a *bareApp) Count(w http.ResponseWriter, r *http.Request) { w.Write([]byte("0")) }
func (a *bareApp) StoreCalls() *atomic.Int64                    { return nil }
func (a *bareApp) Set(w http.ResponseWriter, r *http.Request, _ string, work time.Duration) {
	time.Sleep(work)
	w.Write(okBody)
}

// bareCtxApp is bare behind the least a middleware that hands state to the
// handler through the request's context can do: allocate a small context
// and call r.WithContext (which copies the request). It is the floor for
// UNTOUCHED of any context-based session middleware.
type bareCtxApp struct{ bareApp }

type floorContext struct {
	context.Context
	state *int
}

type floorKey struct{}

func (c *floorContext) Value(key any) any {
	if _, ok := key.(floorKey); ok {
		return c.state
	}
	return c.Context.Value(key)
}

func openBareCtx(testing.TB, openOptions) app { return &bareCtxApp{} }

func (a *bareCtxApp) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(&floorContext{Context: r.Context()}))
	})
}

// bareWrapApp is bare-ctx plus what a session middleware that sends its
// cookie needs besides: a ResponseWriter wrapper that sees the response
// begin (where sesame and scs commit the session and add Set-Cookie), with
// the wrapper, the context and the request copy in one allocation, as
// sesame's middleware has them. It is the floor for UNTOUCHED of any
// middleware that may have to set a cookie.
type bareWrapApp struct{ bareApp }

type floorState struct {
	ctx floorContext
	w   floorWriter
	req http.Request
}

type floorWriter struct {
	http.ResponseWriter
	started bool
}

func (w *floorWriter) begin() {
	if !w.started {
		w.started = true // a session middleware commits here
	}
}

func (w *floorWriter) WriteHeader(code int) {
	w.begin()
	w.ResponseWriter.WriteHeader(code)
}

func (w *floorWriter) Write(b []byte) (int, error) {
	w.begin()
	return w.ResponseWriter.Write(b)
}

func (w *floorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func openBareWrap(testing.TB, openOptions) app { return &bareWrapApp{} }

func (a *bareWrapApp) Handler(next http.Handler) http.Handler { return floorHandler{next} }

// floorHandler is a named type, like sesame's middleware, so that
// r.WithContext is inlined into ServeHTTP and its copy shares st's
// allocation.
type floorHandler struct{ next http.Handler }

func (h floorHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &floorState{}
	st.ctx = floorContext{Context: r.Context()}
	st.req = *r.WithContext(&st.ctx)
	st.w = floorWriter{ResponseWriter: w}
	h.next.ServeHTTP(&st.w, &st.req)
	st.w.begin()
}

// --- sesame -------------------------------------------------------------

type sesameApp struct {
	m     *sesame.Manager
	calls *atomic.Int64
}

func newSesame(tb testing.TB, o openOptions, st store.Store) *sesameApp {
	tb.Helper()
	cst, calls := counted(st)
	cfg := sesame.Config{Store: cst}
	if o.plainHTTP {
		cfg.Cookie.AllowInsecureHTTP = true
		// AllowInsecureHTTP logs a warning; keep errors only.
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
		cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			tb.Logf("sesame error handler: %s: %v", r.URL, err)
			http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		}
	}
	m, err := sesame.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return &sesameApp{m: m, calls: calls}
}

func (a *sesameApp) Handler(next http.Handler) http.Handler { return a.m.Handler(next) }
func (a *sesameApp) StoreCalls() *atomic.Int64              { return a.calls }

func (a *sesameApp) Seed(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	s.Put("n", seedN)
	s.Put("name", seedName)
	w.Write(okBody)
}

func (a *sesameApp) Read(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	writeRead(w, sesame.GetOr(s, "n", 0), sesame.GetOr(s, "name", ""))
}

func (a *sesameApp) Write(w http.ResponseWriter, r *http.Request) {
	n, err := sesame.From(r).Increment("n", 1)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeInt(w, n)
}

func (a *sesameApp) New(w http.ResponseWriter, r *http.Request) {
	sesame.From(r).Put("name", seedName)
	w.Write(okBody)
}

func (a *sesameApp) Set(w http.ResponseWriter, r *http.Request, key string, work time.Duration) {
	s := sesame.From(r)
	_ = sesame.GetOr(s, "n", 0) // loads the session
	time.Sleep(work)
	s.Put(key, 1)
	w.Write(okBody)
}

func (a *sesameApp) Count(w http.ResponseWriter, r *http.Request) {
	n := 0
	for _, k := range sesame.From(r).Keys() {
		if strings.HasPrefix(k, "k") {
			n++
		}
	}
	writeInt(w, int64(n))
}

func openSesameMem(tb testing.TB, o openOptions) app {
	return newSesame(tb, o, memstore.New())
}

func openSesameFile(tb testing.TB, o openOptions) app {
	st, err := filestore.New(filepath.Join(tb.TempDir(), "sessions"))
	if err != nil {
		tb.Fatal(err)
	}
	return newSesame(tb, o, st)
}

func openSesameCookie(tb testing.TB, o openOptions) app {
	keys, err := seal.NewKeyring(hashKey)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := cookiestore.New(cookiestore.Options{Keys: keys, Cookie: cookies.Options{AllowInsecureHTTP: o.plainHTTP}})
	if err != nil {
		tb.Fatal(err)
	}
	return newSesame(tb, o, st)
}

// redisClient connects to the benchmark Redis (or skips) and deletes the
// keys under prefix when tb ends.
func redisClient(tb testing.TB, o openOptions, prefix string) *redis.Client {
	tb.Helper()
	addr := envOr(redisEnv, defaultRedis)
	c := redis.NewClient(&redis.Options{Addr: o.addr(addr)})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		unreachable(tb, redisEnv, err)
	}
	tb.Cleanup(func() {
		deleteRedisPrefix(c, prefix)
		c.Close()
	})
	return c
}

func deleteRedisPrefix(c *redis.Client, prefix string) {
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 1000 {
			c.Del(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		c.Del(ctx, batch...)
	}
}

func openSesameRedis(tb testing.TB, o openOptions) app {
	prefix := "sesame-bench:" + randomHex(6) + ":"
	c := redisClient(tb, o, prefix)
	st, err := redisstore.New(c, redisstore.Options{Prefix: prefix})
	if err != nil {
		tb.Fatal(err)
	}
	return newSesame(tb, o, st)
}

// openSQL opens a sqlstore on a fresh table and drops it when tb ends.
func openSQL(tb testing.TB, o openOptions, env, target string) app {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	table := "sesame_bench_" + randomHex(6)
	st, err := sqlstore.Open(ctx, target, sqlstore.Options{Table: table})
	if err != nil {
		if errors.Is(err, store.ErrUnavailable) {
			unreachable(tb, env, err)
		}
		tb.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if st.Dialect() != sqlstore.SQLite {
			for _, t := range []string{table, table + "_locks", table + "_tokens", table + "_ops", table + "_migrations"} {
				if _, err := st.DB().ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
					tb.Logf("drop %s: %v", t, err)
				}
			}
		}
		st.Close()
	})
	return newSesame(tb, o, st)
}

var mysqlTCP = regexp.MustCompile(`tcp\(([^)]*)\)`)

func openSesamePostgres(tb testing.TB, o openOptions) app {
	dsn := envOr(postgresEnv, defaultPG)
	if o.route != nil {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatalf("%s: %v", postgresEnv, err)
		}
		host := u.Host
		if u.Port() == "" {
			host += ":5432"
		}
		u.Host = o.addr(host)
		dsn = u.String()
	}
	if o.pgAppName != "" {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + "application_name=" + o.pgAppName
	}
	return openSQL(tb, o, postgresEnv, dsn)
}

func openSesameMySQL(tb testing.TB, o openOptions) app {
	dsn := envOr(mysqlEnv, defaultMySQL)
	if strings.HasPrefix(dsn, "mysql://") {
		if o.route != nil {
			u, err := url.Parse(dsn)
			if err != nil {
				tb.Fatalf("%s: %v", mysqlEnv, err)
			}
			host := u.Host
			if u.Port() == "" {
				host += ":3306"
			}
			u.Host = o.addr(host)
			dsn = u.String()
		}
		return openSQL(tb, o, mysqlEnv, dsn)
	}
	if o.route != nil {
		dsn = mysqlTCP.ReplaceAllStringFunc(dsn, func(m string) string {
			return "tcp(" + o.addr(mysqlTCP.FindStringSubmatch(m)[1]) + ")"
		})
	}
	return openSQL(tb, o, mysqlEnv, "mysql:"+dsn)
}

func openSesameSQLite(tb testing.TB, o openOptions) app {
	return openSQL(tb, o, "", "sqlite:"+filepath.Join(tb.TempDir(), "sessions.db"))
}

// --- scs ----------------------------------------------------------------

type scsApp struct {
	sm    *scs.SessionManager
	calls *atomic.Int64
}

// countingSCSStore counts the calls scs makes to its store.
type countingSCSStore struct {
	scs.Store
	calls *atomic.Int64
}

func (c *countingSCSStore) Find(token string) ([]byte, bool, error) {
	c.calls.Add(1)
	return c.Store.Find(token)
}

func (c *countingSCSStore) Commit(token string, b []byte, expiry time.Time) error {
	c.calls.Add(1)
	return c.Store.Commit(token, b, expiry)
}

func (c *countingSCSStore) Delete(token string) error {
	c.calls.Add(1)
	return c.Store.Delete(token)
}

func newSCS(st scs.Store) *scsApp {
	calls := new(atomic.Int64)
	sm := scs.New()
	sm.Store = &countingSCSStore{Store: st, calls: calls}
	return &scsApp{sm: sm, calls: calls}
}

func openSCSMem(tb testing.TB, o openOptions) app {
	st := scsmem.New()
	tb.Cleanup(st.StopCleanup)
	return newSCS(st)
}

func openSCSRedis(tb testing.TB, o openOptions) app {
	addr := o.addr(envOr(redisEnv, defaultRedis))
	prefix := "scs-bench:" + randomHex(6) + ":"
	c := redisClient(tb, openOptions{}, prefix) // for the ping and the clean-up only
	_ = c
	pool := &redigo.Pool{
		MaxIdle:     128,
		IdleTimeout: 4 * time.Minute,
		Dial:        func() (redigo.Conn, error) { return redigo.Dial("tcp", addr) },
	}
	tb.Cleanup(func() { pool.Close() })
	return newSCS(scsredis.NewWithPrefix(pool, prefix))
}

func (a *scsApp) Handler(next http.Handler) http.Handler { return a.sm.LoadAndSave(next) }
func (a *scsApp) StoreCalls() *atomic.Int64              { return a.calls }

func (a *scsApp) Seed(w http.ResponseWriter, r *http.Request) {
	a.sm.Put(r.Context(), "n", seedN)
	a.sm.Put(r.Context(), "name", seedName)
	w.Write(okBody)
}

func (a *scsApp) Read(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	writeRead(w, a.sm.GetInt(ctx, "n"), a.sm.GetString(ctx, "name"))
}

func (a *scsApp) Write(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	n := a.sm.GetInt(ctx, "n") + 1
	a.sm.Put(ctx, "n", n)
	writeInt(w, int64(n))
}

func (a *scsApp) New(w http.ResponseWriter, r *http.Request) {
	a.sm.Put(r.Context(), "name", seedName)
	w.Write(okBody)
}

func (a *scsApp) Set(w http.ResponseWriter, r *http.Request, key string, work time.Duration) {
	ctx := r.Context()
	_ = a.sm.GetInt(ctx, "n")
	time.Sleep(work)
	a.sm.Put(ctx, key, 1)
	w.Write(okBody)
}

func (a *scsApp) Count(w http.ResponseWriter, r *http.Request) {
	n := 0
	for _, k := range a.sm.Keys(r.Context()) {
		if strings.HasPrefix(k, "k") {
			n++
		}
	}
	writeInt(w, int64(n))
}

// --- gorilla/sessions ---------------------------------------------------

// gorillaApp uses gorilla/sessions the way its README does: Get, change
// Values, Save. It has no middleware; its registry lives in the request's
// context (which Get sets by overwriting *r, hence the benchmarks' request
// copy per iteration).
type gorillaApp struct{ st sessions.Store }

const gorillaName = "session"

func openGorillaCookie(testing.TB, openOptions) app {
	// Signed and encrypted (AES-256), like sesame's cookie store.
	return &gorillaApp{st: sessions.NewCookieStore(hashKey, blockKey)}
}

func openGorillaFile(tb testing.TB, _ openOptions) app {
	return &gorillaApp{st: sessions.NewFilesystemStore(tb.TempDir(), hashKey)}
}

func (a *gorillaApp) Handler(next http.Handler) http.Handler { return next }
func (a *gorillaApp) StoreCalls() *atomic.Int64              { return nil }

func (a *gorillaApp) get(w http.ResponseWriter, r *http.Request) (*sessions.Session, bool) {
	s, err := a.st.Get(r, gorillaName)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return nil, false
	}
	return s, true
}

func (a *gorillaApp) save(w http.ResponseWriter, r *http.Request, s *sessions.Session) bool {
	if err := s.Save(r, w); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return false
	}
	return true
}

func (a *gorillaApp) Seed(w http.ResponseWriter, r *http.Request) {
	s, ok := a.get(w, r)
	if !ok {
		return
	}
	s.Values["n"] = seedN
	s.Values["name"] = seedName
	if a.save(w, r, s) {
		w.Write(okBody)
	}
}

func (a *gorillaApp) Read(w http.ResponseWriter, r *http.Request) {
	s, ok := a.get(w, r)
	if !ok {
		return
	}
	n, _ := s.Values["n"].(int)
	name, _ := s.Values["name"].(string)
	writeRead(w, n, name)
}

func (a *gorillaApp) Write(w http.ResponseWriter, r *http.Request) {
	s, ok := a.get(w, r)
	if !ok {
		return
	}
	n, _ := s.Values["n"].(int)
	n++
	s.Values["n"] = n
	if a.save(w, r, s) {
		writeInt(w, int64(n))
	}
}

func (a *gorillaApp) New(w http.ResponseWriter, r *http.Request) {
	s, ok := a.get(w, r)
	if !ok {
		return
	}
	s.Values["name"] = seedName
	if a.save(w, r, s) {
		w.Write(okBody)
	}
}

func (a *gorillaApp) Set(w http.ResponseWriter, r *http.Request, key string, work time.Duration) {
	s, ok := a.get(w, r)
	if !ok {
		return
	}
	time.Sleep(work)
	s.Values[key] = 1
	if a.save(w, r, s) {
		w.Write(okBody)
	}
}

func (a *gorillaApp) Count(w http.ResponseWriter, r *http.Request) {
	s, ok := a.get(w, r)
	if !ok {
		return
	}
	n := 0
	for k := range s.Values {
		if k, _ := k.(string); strings.HasPrefix(k, "k") {
			n++
		}
	}
	writeInt(w, int64(n))
}

// cookieHeader turns the cookies a response set into the Cookie header a
// browser would send back (cookies being deleted are left out).
func cookieHeader(resp *http.Response) string {
	var parts []string
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			continue
		}
		parts = append(parts, c.Name+"="+c.Value)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}
