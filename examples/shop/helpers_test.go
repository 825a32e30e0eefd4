package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"
)

// testStores are the stores every flow test runs on: the default (files in
// a data directory) and memory, and SQLite in a build with -tags sql
// (helpers_sql_test.go).
var testStores = []string{"file", "memory"}

// forEachStore runs f as a subtest per store.
func forEachStore(t *testing.T, f func(t *testing.T, store string)) {
	for _, s := range testStores {
		t.Run(s, func(t *testing.T) { f(t, s) })
	}
}

// clock is a settable clock for the analytics cookies.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// server is the shop on an httptest server.
type server struct {
	*httptest.Server
	app   *app
	clock *clock
}

// serverOptions change how newServer builds the app.
type serverOptions struct {
	tls    bool                 // HTTPS with Secure cookies (dev off)
	target string               // -store value; "" picks by store name
	ns     namespace            // the SQL table or Redis key prefix; "" for the default
	config func(cfg *appConfig) // last changes to the config
	// slowLoad delays every session load by this much, so that concurrent
	// requests on one session overlap for sure: without it, a fast store
	// may serve them one after the other and hide a lost update.
	slowLoad time.Duration
	// queueLoad delays every session load by this much before it reads,
	// as a request waiting for a database connection does: a request sent
	// before another one's commit may read after it.
	queueLoad time.Duration
}

// slowMemstore and slowFileStore (and slowSQLStore with -tags sql) delay
// Load's answer and keep every other method (and so every optional
// interface) of the store they embed.
type (
	slowMemstore struct {
		*memstore.Store
		delay, queue time.Duration
	}
	slowFileStore struct {
		*filestore.Store
		delay, queue time.Duration
	}
)

func (s slowMemstore) Load(ctx context.Context, key string) (store.Record, bool, error) {
	time.Sleep(s.queue)
	rec, ok, err := s.Store.Load(ctx, key)
	time.Sleep(s.delay) // after reading: concurrent loads all see the same record
	return rec, ok, err
}

// LoadShared is what sesame calls on a memstore; it is slow like Load.
func (s slowMemstore) LoadShared(ctx context.Context, key string) (store.Record, bool, error) {
	time.Sleep(s.queue)
	rec, ok, err := s.Store.LoadShared(ctx, key)
	time.Sleep(s.delay)
	return rec, ok, err
}

func (s slowFileStore) Load(ctx context.Context, key string) (store.Record, bool, error) {
	time.Sleep(s.queue)
	rec, ok, err := s.Store.Load(ctx, key)
	time.Sleep(s.delay) // after reading: concurrent loads all see the same record
	return rec, ok, err
}

// slowWrappers wrap the stores of other builds (helpers_sql_test.go).
var slowWrappers []func(st store.Store, d, queue time.Duration) (store.Store, bool)

// slowed returns st with a slow Load: queue before reading, d after.
func slowed(t testing.TB, st store.Store, d, queue time.Duration) store.Store {
	switch s := st.(type) {
	case *memstore.Store:
		return slowMemstore{s, d, queue}
	case *filestore.Store:
		return slowFileStore{s, d, queue}
	}
	for _, wrap := range slowWrappers {
		if s, ok := wrap(st, d, queue); ok {
			return s
		}
	}
	t.Fatalf("no slow wrapper for %T", st)
	return nil
}

// newServer starts the shop on the named store ("file", "memory", "sqlite") in dev
// mode over plain HTTP, closed when the test ends.
func newServer(t testing.TB, store string) *server {
	return newServerWith(t, store, serverOptions{})
}

func newServerWith(t testing.TB, store string, o serverOptions) *server {
	t.Helper()
	dir := t.TempDir()
	target := o.target
	if target == "" {
		switch store {
		case "file":
			target = "" // the default: data/sessions
		case "sqlite":
			target = "sqlite:" + dir + "/shop.db" // needs -tags sql
		case "memory":
			target = "memory"
		default:
			t.Fatalf("unknown test store %q", store)
		}
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	b, err := openBackend(context.Background(), target, dir, o.ns, logger)
	if err != nil {
		t.Fatalf("openBackend(%q): %v", target, err)
	}
	t.Cleanup(func() {
		if err := b.close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	keys, _, err := loadKeyring("", dir)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg := appConfig{
		Store:      b.store,
		Tokens:     b.tokens,
		Keyring:    keys,
		Dev:        !o.tls,
		Logger:     logger,
		BcryptCost: bcrypt.MinCost,
		Now:        clk.now,
	}
	if o.slowLoad > 0 || o.queueLoad > 0 {
		cfg.Store = slowed(t, b.store, o.slowLoad, o.queueLoad)
	}
	if o.config != nil {
		o.config(&cfg)
	}
	a, err := newApp(cfg)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	var ts *httptest.Server
	if o.tls {
		ts = httptest.NewTLSServer(a)
	} else {
		ts = httptest.NewServer(a)
	}
	t.Cleanup(ts.Close)
	return &server{Server: ts, app: a, clock: clk}
}

// client is one browser: a cookie jar, and no automatic redirects (tests
// check each 303 themselves).
type client struct {
	t   testing.TB
	srv *server
	jar *cookiejar.Jar
	hc  *http.Client
}

func (s *server) client(t testing.TB) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *s.Client() // a copy: Client returns one shared value; its Transport trusts the TLS server
	hc := &c
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc.Timeout = 30 * time.Second
	return &client{t: t, srv: s, jar: jar, hc: hc}
}

// response is a read response.
type response struct {
	*http.Response
	body string
}

// location returns the Location header.
func (r *response) location() string { return r.Header.Get("Location") }

// do sends req and reads the whole response.
func (c *client) do(req *http.Request) *response {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	return &response{Response: resp, body: string(b)}
}

// get fetches path.
func (c *client) get(path string) *response {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// page fetches path and fails unless the answer is 200.
func (c *client) page(path string) string {
	c.t.Helper()
	r := c.get(path)
	if r.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: status %d, want 200; body: %.300s", path, r.StatusCode, r.body)
	}
	return r.body
}

var csrfField = regexp.MustCompile(`<input type="hidden" name="_csrf" value="([^"]+)">`)

// token fetches the page at path and returns the CSRF token of its forms.
func (c *client) token(path string) string {
	c.t.Helper()
	m := csrfField.FindStringSubmatch(c.page(path))
	if m == nil {
		c.t.Fatalf("GET %s: no _csrf field in the page", path)
	}
	return m[1]
}

// post sends form to path as is (add "_csrf" yourself, or use submit).
func (c *client) post(path string, form url.Values, header ...string) *response {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

// formToken fetches the page at path and returns the CSRF token of its
// forms, or "" when they have none (a guest's pages: see app.routes).
func (c *client) formToken(path string) string {
	c.t.Helper()
	if m := csrfField.FindStringSubmatch(c.page(path)); m != nil {
		return m[1]
	}
	return ""
}

// submit does what a browser does with a form: it fetches the page at from,
// takes its CSRF token if it has one, and posts form to action from the
// app's origin (as browsers say in Sec-Fetch-Site).
func (c *client) submit(from, action string, form url.Values) *response {
	c.t.Helper()
	f := url.Values{}
	if tok := c.formToken(from); tok != "" {
		f.Set("_csrf", tok)
	}
	for k, v := range form {
		f[k] = v
	}
	return c.post(action, f, "Sec-Fetch-Site", "same-origin")
}

// submitSeeOther is submit that also checks for a 303 to want.
func (c *client) submitSeeOther(from, action string, form url.Values, want string) {
	c.t.Helper()
	r := c.submit(from, action, form)
	if r.StatusCode != http.StatusSeeOther || r.location() != want {
		c.t.Fatalf("POST %s: %d to %q, want 303 to %q; body: %.300s", action, r.StatusCode, r.location(), want, r.body)
	}
}

// login logs in through the form and checks the redirect to /.
func (c *client) login(email, password string, remember bool) {
	c.t.Helper()
	form := url.Values{"email": {email}, "password": {password}}
	if remember {
		form.Set("remember", "1")
	}
	c.submitSeeOther("/login", "/login", form, "/")
}

// stateJSON is GET /api/state, decoded independently of the app's types.
type stateJSON struct {
	User      *string        `json:"user"`
	Cart      map[string]int `json:"cart"`
	PageViews int64          `json:"page_views"`
	Recent    []struct {
		Path  string `json:"path"`
		Title string `json:"title"`
	} `json:"recent"`
	Visits       int            `json:"visits"`
	Theme        string         `json:"theme"`
	CheckoutStep int            `json:"checkout_step"`
	Orders       int64          `json:"orders"`
	Flash        map[string]any `json:"flash"`
	Stored       bool           `json:"stored"`
}

// state fetches /api/state.
func (c *client) state() stateJSON {
	c.t.Helper()
	r := c.get("/api/state")
	if r.StatusCode != http.StatusOK {
		c.t.Fatalf("GET /api/state: status %d; body: %.300s", r.StatusCode, r.body)
	}
	var st stateJSON
	if err := json.Unmarshal([]byte(r.body), &st); err != nil {
		c.t.Fatalf("GET /api/state: %v in %s", err, r.body)
	}
	return st
}

// user returns the state's user, "" for none.
func (st stateJSON) user() string {
	if st.User == nil {
		return ""
	}
	return *st.User
}

// cookie returns the jar's cookie called name for the server, or nil.
func (c *client) cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.srv.URL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// deleteCookie removes a cookie from the jar, as a browser does when a
// session cookie's browser session ends.
func (c *client) deleteCookie(name string) {
	u, _ := url.Parse(c.srv.URL)
	c.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: "", Path: "/", MaxAge: -1}})
	if c.cookie(name) != nil {
		c.t.Fatalf("cookie %s still in the jar", name)
	}
}

// setCookie puts a cookie in the jar, as a user with devtools could.
func (c *client) setCookie(name, value string) {
	u, _ := url.Parse(c.srv.URL)
	c.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// responseCookie returns the Set-Cookie of name in r, or nil.
func responseCookie(r *response, name string) *http.Cookie {
	for _, ck := range r.Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}
