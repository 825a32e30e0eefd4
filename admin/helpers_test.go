package admin

import (
	"bytes"
	"context"
	"fmt"
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

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/remember"
	"github.com/sesamego/sesame/store"
)

// The tests run an app with sesame, remember-me and the dashboard behind a
// real TLS server, and drive it with Go clients that keep cookies. Users log
// in with POST /login?user=NAME; "alice" is the administrator.

// fixture is one running app.
type fixture struct {
	t      *testing.T
	st     store.Store
	m      *sesame.Manager
	rec    *Recorder
	rem    *remember.Manager
	tokens *remember.MemoryStore
	dash   *handler
	srv    *httptest.Server
	logs   *syncBuffer

	mu          sync.Mutex
	ids         []string // every session ID the app handed out
	revocations []Revocation
}

// fixtureOptions change the fixture.
type fixtureOptions struct {
	store       store.Store
	noRecorder  bool
	crossOrigin sesame.CrossOriginConfig
	admin       func(o *Options)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// plantedSecret is the value every test user keeps under "secret": it must
// never appear on a page.
const plantedSecret = "planted-secret-d41d8cd9"

// plantedTheme is kept under "theme", which tests may opt in to showing.
const plantedTheme = "visible-theme-8f00b204"

func newFixture(t *testing.T, o fixtureOptions) *fixture {
	t.Helper()
	f := &fixture{t: t, st: o.store, tokens: remember.NewMemoryStore(), logs: &syncBuffer{}}
	if f.st == nil {
		f.st = memstore.New()
	}
	if !o.noRecorder {
		f.rec = NewRecorder()
	}
	cfg := sesame.Config{Store: f.st, CrossOrigin: o.crossOrigin, Logger: slog.New(slog.DiscardHandler),
		Anomaly: sesame.AnomalyPolicy{Action: sesame.AnomalyFlag, IgnoreUserAgent: true}}
	if f.rec != nil {
		cfg.OnEvent = f.rec.Observe
	}
	var err error
	if f.m, err = sesame.New(cfg); err != nil {
		t.Fatal(err)
	}
	if f.rem, err = remember.New(remember.Config{Tokens: f.tokens, Sessions: f.m, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Authorize: func(r *http.Request) (string, bool) {
			u := sesame.From(r).UserID()
			return u, u == "alice"
		},
		Recorder: f.rec,
		Remember: f.rem,
		Logger:   slog.New(slog.NewTextHandler(f.logs, nil)),
		OnRevoke: func(_ context.Context, r Revocation) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.revocations = append(f.revocations, r)
		},
	}
	if o.admin != nil {
		o.admin(&opts)
	}
	dash, err := New(f.m, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.dash = dash.(*handler)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		user := r.URL.Query().Get("user")
		if err := f.rem.Login(w, r, user, r.URL.Query().Get("remember") != ""); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.Put("secret", plantedSecret)
		s.Put("theme", plantedTheme)
		s.Put("cart.bagel", 2)
		f.mu.Lock()
		f.ids = append(f.ids, s.ID())
		f.mu.Unlock()
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		u := sesame.From(r).UserID()
		if u == "" {
			u = "guest"
		}
		io.WriteString(w, u)
	})
	mux.Handle("/admin/", dash)
	f.srv = httptest.NewTLSServer(f.rec.Handler(f.m.Handler(f.rem.Handler(mux))))
	t.Cleanup(func() {
		f.srv.Close()
		if f.dash.idx != nil {
			f.dash.idx.wait() // a build may still read the store
		}
	})
	return f
}

// client is one browser.
type client struct {
	f  *fixture
	hc *http.Client
	ua string
}

func (f *fixture) client(ua string) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	hc := *f.srv.Client()
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc.Timeout = 30 * time.Second
	return &client{f: f, hc: &hc, ua: ua}
}

// login logs the client in as user (and returns it, for chaining).
func (c *client) login(user string, rememberMe bool) *client {
	c.f.t.Helper()
	q := url.Values{"user": {user}}
	if rememberMe {
		q.Set("remember", "1")
	}
	if code, body := c.send("POST", "/login?"+q.Encode(), nil, nil); code != http.StatusOK {
		c.f.t.Fatalf("login as %s: %d %s", user, code, body)
	}
	return c
}

// send makes one request and returns the status and body.
func (c *client) send(method, path string, form url.Values, header http.Header) (int, string) {
	c.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.f.srv.URL+path, body)
	if err != nil {
		c.f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.f.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// get fetches a page and fails unless it answers 200.
func (c *client) get(path string) string {
	c.f.t.Helper()
	code, body := c.send("GET", path, nil, nil)
	if code != http.StatusOK {
		c.f.t.Fatalf("GET %s: %d\n%s", path, code, body)
	}
	return body
}

// whoami returns the user the app sees for this client, or "guest".
func (c *client) whoami() string {
	c.f.t.Helper()
	_, body := c.send("GET", "/whoami", nil, nil)
	return body
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// token returns a CSRF token from a dashboard page.
func (c *client) token() string {
	c.f.t.Helper()
	m := csrfField.FindStringSubmatch(c.get("/admin/users?q=nobody"))
	if m == nil {
		c.f.t.Fatal("no CSRF token on the users page")
	}
	return m[1]
}

// hashesOf returns the store keys of user's live sessions, from the store.
func (f *fixture) hashesOf(user string) []string {
	f.t.Helper()
	infos, err := f.m.SessionsOf(context.Background(), user)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, in := range infos {
		out = append(out, in.Hash)
	}
	return out
}

// live reports whether the store holds a live session under hash.
func (f *fixture) live(hash string) bool {
	f.t.Helper()
	rec, ok, err := f.st.Load(context.Background(), hash)
	if err != nil {
		f.t.Fatal(err)
	}
	_, gone := rec.Values[store.GoneField]
	return ok && !gone
}

// newFileStore returns a file store in a temporary directory.
func newFileStore(t testing.TB) *filestore.Store {
	t.Helper()
	st, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fill stores n sessions directly (as another process would), with users
// user-0 … user-999 and last-seen times a second apart, and returns their
// keys. Keys are those of IDs "session-<from+i>".
func fill(t testing.TB, st store.Store, n, from int) []string {
	t.Helper()
	now := time.Now()
	keys := make([]string, n)
	for i := range n {
		keys[i] = store.Key(fmt.Sprint("session-", from+i))
		seen := now.Add(-time.Duration(i%3600) * time.Second)
		c := store.Change{
			Create: true, Now: seen, Created: seen.Add(-time.Minute), Expires: now.Add(time.Hour),
			Set:     map[string][]byte{"cart.bagel": []byte("2"), "secret": []byte(`"` + plantedSecret + `"`)},
			SetUser: true, UserID: fmt.Sprint("user-", (from+i)%1000), IP: "192.0.2.7",
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		}
		if err := st.Apply(context.Background(), keys[i], c); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// httptestRecorder serves one request with h.
func httptestRecorder(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

// onlyStore hides every optional capability of a store.
type onlyStore struct{ s store.Store }

func (o onlyStore) Load(ctx context.Context, key string) (store.Record, bool, error) {
	return o.s.Load(ctx, key)
}
func (o onlyStore) Apply(ctx context.Context, key string, c store.Change) error {
	return o.s.Apply(ctx, key, c)
}
func (o onlyStore) Delete(ctx context.Context, key string) error { return o.s.Delete(ctx, key) }
