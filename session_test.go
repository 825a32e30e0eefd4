package sesame

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesamego/sesame/internal/flat"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"
)

// countingStore is a real memstore that counts the calls made to it, and can
// be told to fail.
type countingStore struct {
	store.Store
	loads, applies, deletes atomic.Int64
	fail                    atomic.Bool
}

var errDown = errors.New("connection refused")

func (c *countingStore) Load(ctx context.Context, key string) (store.Record, bool, error) {
	c.loads.Add(1)
	if c.fail.Load() {
		return store.Record{}, false, fmt.Errorf("%w: %w", store.ErrUnavailable, errDown)
	}
	return c.Store.Load(ctx, key)
}

func (c *countingStore) Apply(ctx context.Context, key string, ch store.Change) error {
	c.applies.Add(1)
	if c.fail.Load() {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, errDown)
	}
	return c.Store.Apply(ctx, key, ch)
}

func (c *countingStore) Delete(ctx context.Context, key string) error {
	c.deletes.Add(1)
	if c.fail.Load() {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, errDown)
	}
	return c.Store.Delete(ctx, key)
}

func (c *countingStore) Take(ctx context.Context, key, field, id string) ([]byte, bool, error) {
	if c.fail.Load() {
		return nil, false, fmt.Errorf("%w: %w", store.ErrUnavailable, errDown)
	}
	t, ok := c.Store.(store.Taker)
	if !ok {
		panic("test store has no Taker")
	}
	return t.Take(ctx, key, field, id)
}

// LoadFlat is memstore's in-place load, counted and failing like Load, so
// that the manager reads the test store as it reads a memstore.
func (c *countingStore) LoadFlat(ctx context.Context, key string) ([]byte, bool, error) {
	c.loads.Add(1)
	if c.fail.Load() {
		return nil, false, fmt.Errorf("%w: %w", store.ErrUnavailable, errDown)
	}
	return c.Store.(flat.Loader).LoadFlat(ctx, key)
}

// FlatLoader says that LoadFlat is the test store's own.
func (c *countingStore) FlatLoader() any { return c }

// The test store keeps memstore's atomic take: without it sesame falls back
// to consuming flashes at least once, and TestFlashConsumedOnceUnderRace
// would fail at random.
var _ store.Taker = (*countingStore)(nil)

func (c *countingStore) calls() int64 { return c.loads.Load() + c.applies.Load() + c.deletes.Load() }

// clock is an injectable time source for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testApp is a manager serving a small app over TLS, with a client that keeps
// cookies.
type testApp struct {
	t      *testing.T
	m      *Manager
	st     *countingStore
	srv    *httptest.Server
	client *http.Client
	clock  *clock
}

func newTestApp(t *testing.T, cfg Config) *testApp {
	t.Helper()
	st := &countingStore{Store: memstore.New()}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
		if os.Getenv("SESAME_TEST_LOG") != "" {
			cfg.Logger = slog.Default()
		}
	}
	if cfg.Store == nil {
		cfg.Store = st
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c := &clock{t: time.Now()}
	m.now = c.now
	app := &testApp{t: t, m: m, st: st, clock: c}
	app.srv = httptest.NewTLSServer(m.Handler(testMux()))
	t.Cleanup(app.srv.Close)
	app.client = app.newClient()
	return app
}

func (a *testApp) newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := a.srv.Client()
	c2 := *c
	c2.Jar = jar
	c2.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c2
}

// testMux is the app: each path does one session operation and prints the
// result.
func testMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/nothing", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		for k, v := range r.URL.Query() {
			s.Put(k, v[0])
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		if err := s.Err(); err != nil {
			io.WriteString(w, "err")
			return
		}
		v, _ := Get[string](s, r.URL.Query().Get("k"))
		io.WriteString(w, v)
	})
	mux.HandleFunc("/all", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(From(r).All())
	})
	mux.HandleFunc("/incr", func(w http.ResponseWriter, r *http.Request) {
		n, err := From(r).Increment("n", 1)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("/slow-put", func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		s.Get("x") // load now
		<-slowRelease
		s.Put("slow", "written")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		if err := s.Regenerate(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		s.Put("user", "alice")
		s.SetUser("alice")
		s.Flash("notice", "Welcome back!")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		From(r).Destroy()
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/logout-flash", func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		s.Destroy()
		s.Flash("notice", "Successfully logged out")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/flash", func(w http.ResponseWriter, r *http.Request) {
		From(r).Flash("notice", r.URL.Query().Get("v"))
		http.Redirect(w, r, "/show-flash", http.StatusSeeOther)
	})
	mux.HandleFunc("/show-flash", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, From(r).Flashes().String("notice"))
	})
	mux.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, From(r).ID()) })
	// /poll and /track are what a page does while the user logs in: a
	// read-only poll and an analytics write, both answered a little late.
	mux.HandleFunc("/poll", func(w http.ResponseWriter, r *http.Request) {
		v, _ := Get[string](From(r), "user")
		time.Sleep(5 * time.Millisecond)
		io.WriteString(w, v)
	})
	mux.HandleFunc("/track", func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		s.Get("user")
		time.Sleep(5 * time.Millisecond)
		s.PushKeep("seen", r.URL.Query().Get("page"), 5)
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/push", func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		s.Push(r.URL.Query().Get("k"), r.URL.Query().Get("v"))
		s.Put("also", "set")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		v, _ := Get[[]string](From(r), r.URL.Query().Get("k"))
		json.NewEncoder(w).Encode(v)
	})
	mux.HandleFunc("/bad-value", func(w http.ResponseWriter, r *http.Request) {
		From(r).Put("ch", make(chan int))
		io.WriteString(w, "should not be seen")
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		From(r).Put("streamed", "yes")
		rc := http.NewResponseController(w)
		io.WriteString(w, "part1\n")
		if err := rc.Flush(); err != nil {
			io.WriteString(w, "flush error: "+err.Error())
		}
		io.WriteString(w, "part2\n")
	})
	return mux
}

var slowRelease = make(chan struct{})

// do sends a request with the app's client (or another) and returns the body.
func (a *testApp) do(c *http.Client, method, path string) (*http.Response, string) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+path, nil)
	resp, err := c.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (a *testApp) get(path string) string {
	a.t.Helper()
	_, body := a.do(a.client, "GET", path)
	return body
}

// sessionCookie returns the client's session cookie value ("" if none).
func (a *testApp) sessionCookie(c *http.Client) string {
	u, _ := url.Parse(a.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == a.m.CookieName() {
			return ck.Value
		}
	}
	return ""
}

// withCookie returns a client without a jar that always sends the given
// session cookie value.
func (a *testApp) withCookie(value string) *http.Client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(a.srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: a.m.CookieName(), Value: value, Path: "/"}})
	c := *a.srv.Client()
	c.Jar = jar
	return &c
}

func TestDefaultsAreSecure(t *testing.T) {
	app := newTestApp(t, Config{})
	resp, _ := app.do(app.client, "GET", "/put?k=v")
	sc := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"__Host-sid=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age="} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, "Domain=") {
		t.Errorf("Set-Cookie %q has a Domain", sc)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := resp.Header.Get("Vary"); got != "Cookie" {
		t.Errorf("Vary = %q, want Cookie", got)
	}
	v := app.sessionCookie(app.client)
	if !validID(v) {
		t.Errorf("session ID %q is not a valid 256-bit ID", v)
	}
	if _, ok, _ := app.st.Store.Load(context.Background(), v); ok {
		t.Error("the store holds a record under the raw session ID; want only its hash")
	}
	if _, ok, _ := app.st.Store.Load(context.Background(), store.Key(v)); !ok {
		t.Error("the store holds no record under the ID's hash")
	}
}

func TestUntouchedSessionCostsNothing(t *testing.T) {
	app := newTestApp(t, Config{})
	app.get("/put?k=v")
	before := app.st.calls()
	resp, _ := app.do(app.client, "GET", "/nothing")
	if got := app.st.calls() - before; got != 0 {
		t.Errorf("untouched request made %d store calls, want 0", got)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("untouched request sent Set-Cookie %q", sc)
	}
	if got := resp.Header.Get("Vary"); got != "" {
		t.Errorf("untouched request sent Vary %q", got)
	}
}

func TestNewSessionStoredOnlyWhenPut(t *testing.T) {
	app := newTestApp(t, Config{})
	resp, _ := app.do(app.client, "GET", "/get?k=x")
	if app.st.applies.Load() != 0 {
		t.Errorf("reading an empty new session stored it (%d applies)", app.st.applies.Load())
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("reading an empty new session sent Set-Cookie %q", sc)
	}
	app.get("/put?k=v")
	if app.st.applies.Load() != 1 {
		t.Errorf("got %d applies after a put, want 1", app.st.applies.Load())
	}
}

func TestRoundTripCostsOneRoundTripPerReadAndWrite(t *testing.T) {
	app := newTestApp(t, Config{})
	app.get("/put?k=v")
	l, a := app.st.loads.Load(), app.st.applies.Load()
	if got := app.get("/get?k=k"); got != "v" {
		t.Fatalf("got %q, want v", got)
	}
	if dl, da := app.st.loads.Load()-l, app.st.applies.Load()-a; dl != 1 || da != 0 {
		t.Errorf("READ made %d loads and %d applies, want 1 and 0", dl, da)
	}
	l, a = app.st.loads.Load(), app.st.applies.Load()
	app.get("/incr")
	if dl, da := app.st.loads.Load()-l, app.st.applies.Load()-a; dl != 1 || da != 1 {
		t.Errorf("WRITE made %d loads and %d applies, want 1 and 1", dl, da)
	}
}

func TestRegenerateDefeatsFixation(t *testing.T) {
	app := newTestApp(t, Config{})
	app.get("/put?cart=3")
	before := app.sessionCookie(app.client)
	app.get("/login")
	after := app.sessionCookie(app.client)
	if before == after || after == "" {
		t.Fatalf("ID did not change at login: before %q, after %q", before, after)
	}
	if got := app.get("/get?k=cart"); got != "3" {
		t.Errorf("data lost across regenerate: cart = %q, want 3", got)
	}
	// The attacker's copy of the pre-login cookie loads nothing.
	_, body := app.do(app.withCookie(before), "GET", "/get?k=user")
	if body != "" {
		t.Errorf("old ID still loads user %q after regenerate", body)
	}
	_, body = app.do(app.withCookie(before), "GET", "/get?k=cart")
	if body != "" {
		t.Errorf("old ID still loads cart %q after regenerate", body)
	}
}

func TestRegenerateWithoutRenamerKeepsDataAndAge(t *testing.T) {
	// countingStore hides memstore's Renamer, so this takes the
	// create-then-delete path.
	app := newTestApp(t, Config{})
	if _, ok := app.m.store.(store.Renamer); ok {
		t.Fatal("test store unexpectedly implements Renamer")
	}
	app.get("/put?cart=3")
	created := time.Time{}
	key := store.Key(app.sessionCookie(app.client))
	if rec, ok, _ := app.st.Store.Load(context.Background(), key); ok {
		created = rec.Created
	}
	app.clock.advance(time.Minute)
	app.get("/login")
	rec, ok, _ := app.st.Store.Load(context.Background(), store.Key(app.sessionCookie(app.client)))
	if !ok {
		t.Fatal("regenerated session not stored")
	}
	if !rec.Created.Equal(created) {
		t.Errorf("Created = %v after regenerate, want %v (the absolute lifetime must not restart)", rec.Created, created)
	}
	if rec.UserID != "alice" {
		t.Errorf("UserID = %q, want alice", rec.UserID)
	}
}

// mustHoldNoSession fails the test unless key holds no session: nothing, or
// the tombstone Destroy and Regenerate leave (no values but the marker, no
// user, gone within goneGrace).
func mustHoldNoSession(t *testing.T, st store.Store, key string) {
	t.Helper()
	rec, ok, err := st.Load(context.Background(), key)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !ok {
		return
	}
	if _, gone := rec.Values[goneKey]; !gone || len(rec.Values) != 1 || rec.UserID != "" ||
		rec.Expires.After(time.Now().Add(goneGrace+time.Second)) {
		t.Errorf("the old key holds %d values (tombstone %v), user %q, expiring %v: want a tombstone",
			len(rec.Values), gone, rec.UserID, rec.Expires)
	}
}

func TestRegenerateLeavesATombstone(t *testing.T) {
	ms := memstore.New()
	app := newTestApp(t, Config{Store: ms})
	app.get("/put?cart=3")
	before := app.sessionCookie(app.client)
	app.get("/login")
	if after := app.sessionCookie(app.client); after == before {
		t.Fatal("ID did not change")
	}
	if got := app.get("/get?k=cart"); got != "3" {
		t.Errorf("cart = %q, want 3", got)
	}
	mustHoldNoSession(t, ms, store.Key(before))
}

func TestLogout(t *testing.T) {
	app := newTestApp(t, Config{})
	app.get("/login")
	old := app.sessionCookie(app.client)
	resp, _ := app.do(app.client, "POST", "/logout")
	sc := resp.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "Max-Age=0") || !strings.Contains(sc, "Path=/") {
		t.Errorf("logout Set-Cookie %q does not clear the cookie on Path=/", sc)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("logout Cache-Control = %q, want no-store", got)
	}
	if _, body := app.do(app.withCookie(old), "GET", "/get?k=user"); body != "" {
		t.Errorf("pre-logout cookie still shows user %q", body)
	}
	mustHoldNoSession(t, app.st.Store, store.Key(old))
}

func TestLogoutThenFlashStartsNewSession(t *testing.T) {
	app := newTestApp(t, Config{})
	app.get("/login")
	old := app.sessionCookie(app.client)
	app.get("/logout-flash")
	now := app.sessionCookie(app.client)
	if now == "" || now == old {
		t.Fatalf("after logout with flash, cookie = %q (old %q), want a new ID", now, old)
	}
	if got := app.get("/show-flash"); got != "Successfully logged out" {
		t.Errorf("flash = %q", got)
	}
	if got := app.get("/get?k=user"); got != "" {
		t.Errorf("user = %q after logout", got)
	}
}

func TestSlowRequestCannotResurrectAfterLogout(t *testing.T) {
	app := newTestApp(t, Config{})
	app.get("/login")
	old := app.sessionCookie(app.client)
	loads := app.st.loads.Load()
	done := make(chan string)
	go func() {
		_, body := app.do(app.withCookie(old), "GET", "/slow-put")
		done <- body
	}()
	// Wait until the slow request has loaded the session.
	deadline := time.Now().Add(5 * time.Second)
	for app.st.loads.Load() <= loads && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	app.do(app.client, "POST", "/logout")
	slowRelease <- struct{}{}
	<-done
	mustHoldNoSession(t, app.st.Store, store.Key(old))
	if _, body := app.do(app.withCookie(old), "GET", "/get?k=slow"); body != "" {
		t.Errorf("slow write visible after logout: %q", body)
	}
}

func TestFlashIsShownOnce(t *testing.T) {
	app := newTestApp(t, Config{})
	if got := app.get("/flash?v=hello"); strings.Contains(got, "hello") {
		t.Fatalf("flash visible on the request that set it: %q", got)
	}
	if got := app.get("/show-flash"); got != "hello" {
		t.Fatalf("flash on next request = %q, want hello", got)
	}
	if got := app.get("/show-flash"); got != "" {
		t.Errorf("flash shown twice: %q", got)
	}
}

func TestFlashConsumedOnceUnderRace(t *testing.T) {
	app := newTestApp(t, Config{})
	for round := 0; round < 10; round++ {
		app.get("/flash?v=once")
		var wg sync.WaitGroup
		var seen atomic.Int64
		for i := 0; i < 8; i++ {
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
			t.Fatalf("round %d: flash seen by %d requests, want exactly 1", round, seen.Load())
		}
	}
}

func TestIdleAndAbsoluteExpiry(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		steps   []time.Duration // wait before each read
		wantEnd string
	}{
		{"an active session outlives the idle timeout", Config{IdleTimeout: 30 * time.Minute}, []time.Duration{20 * time.Minute, 20 * time.Minute, 20 * time.Minute}, "v"},
		{"an idle session expires after the idle timeout", Config{IdleTimeout: 30 * time.Minute}, []time.Duration{31 * time.Minute}, ""},
		{"an active session ends at its absolute lifetime", Config{IdleTimeout: 30 * time.Minute, Lifetime: time.Hour}, []time.Duration{20 * time.Minute, 20 * time.Minute, 21 * time.Minute}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newTestApp(t, tt.cfg)
			app.get("/put?k=v")
			var got string
			for _, d := range tt.steps {
				app.clock.advance(d)
				got = app.get("/get?k=k")
			}
			if got != tt.wantEnd {
				t.Errorf("got %q, want %q", got, tt.wantEnd)
			}
		})
	}
}

func TestTouchIsThrottled(t *testing.T) {
	app := newTestApp(t, Config{IdleTimeout: 100 * time.Minute}) // touch after 10 minutes
	app.get("/put?k=v")
	a := app.st.applies.Load()
	for i := 0; i < 5; i++ {
		app.clock.advance(time.Minute)
		app.get("/get?k=k")
	}
	if got := app.st.applies.Load() - a; got != 0 {
		t.Errorf("%d touches within the first 5 minutes, want 0", got)
	}
	app.clock.advance(6 * time.Minute)
	app.get("/get?k=k")
	if got := app.st.applies.Load() - a; got != 1 {
		t.Errorf("%d touches after 11 minutes, want 1", got)
	}
}

func TestStrictModeNeverAdoptsUnknownIDs(t *testing.T) {
	app := newTestApp(t, Config{})
	planted := newID() // well-formed, never issued
	c := app.withCookie(planted)
	resp, _ := app.do(c, "GET", "/put?k=v")
	var issued string
	for _, ck := range resp.Cookies() {
		if ck.Name == app.m.CookieName() && ck.Value != "" {
			issued = ck.Value
		}
	}
	if issued == "" || issued == planted {
		t.Fatalf("server adopted the planted ID (issued %q)", issued)
	}
	if _, ok, _ := app.st.Store.Load(context.Background(), store.Key(planted)); ok {
		t.Error("a record exists under the planted ID")
	}
}

func TestMalformedCookiesCostNoStoreIO(t *testing.T) {
	app := newTestApp(t, Config{})
	valid := newID()
	cases := []struct{ name, value string }{
		{"empty", ""},
		{"too short", valid[:42]},
		{"too long", valid + "A"},
		{"path traversal", "../../../../etc/passwd" + strings.Repeat("a", 21)},
		{"non-canonical last character", valid[:42] + "B"},
		{"1 KB", strings.Repeat("a", 1024)},
		{"bad character", valid[:42] + "!"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", app.srv.URL+"/get?k=k", nil)
			req.Header.Set("Cookie", app.m.CookieName()+"="+tc.value)
			before := app.st.loads.Load()
			resp, err := app.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d, want 200", resp.StatusCode)
			}
			if got := app.st.loads.Load() - before; got != 0 {
				t.Errorf("malformed ID caused %d store loads, want 0", got)
			}
		})
	}
}

func TestTamperedCookieGivesEmptySession(t *testing.T) {
	app := newTestApp(t, Config{})
	app.get("/put?k=secret")
	id := app.sessionCookie(app.client)
	// Flip one character: still well-formed, but names no session.
	b := []byte(id)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	if _, body := app.do(app.withCookie(string(b)), "GET", "/get?k=k"); body != "" {
		t.Errorf("tampered ID loaded %q", body)
	}
}

func TestStoreFailureFailsClosed(t *testing.T) {
	var handled error
	app := newTestApp(t, Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		handled = err
		http.Error(w, "store down", http.StatusServiceUnavailable)
	}})
	app.get("/put?k=v")
	app.st.fail.Store(true)
	applies := app.st.applies.Load()
	resp, body := app.do(app.client, "GET", "/put?k=overwritten")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	if !errors.Is(handled, ErrStoreUnavailable) || !errors.Is(handled, errDown) {
		t.Errorf("error handler got %v, want ErrStoreUnavailable wrapping the store error", handled)
	}
	if strings.Contains(body, "ok") {
		t.Errorf("handler output leaked into the error response: %q", body)
	}
	if got := app.st.applies.Load(); got != applies {
		t.Errorf("%d applies while the store was down, want none", got-applies)
	}
	app.st.fail.Store(false)
	if got := app.get("/get?k=k"); got != "v" {
		t.Errorf("after recovery k = %q, want v (nothing overwritten)", got)
	}
}

func TestFailedCommitKeepsOuterHeadersAndDropsTheHandlers(t *testing.T) {
	st := &countingStore{Store: memstore.New()}
	m, _ := New(Config{Store: st, Logger: discardLogger()})
	outer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Frame-Options", "DENY")
			next.ServeHTTP(w, r)
		})
	}
	h := outer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "app", Value: "x"})
		w.Header().Set("Location", "/elsewhere")
		From(r).Put("k", "v")
		w.WriteHeader(http.StatusFound)
	})))
	st.fail.Store(true)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", rec.Code)
	}
	if rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Error("the outer middleware's header was dropped")
	}
	if rec.Header().Get("Location") != "" || rec.Header().Get("Set-Cookie") != "" {
		t.Errorf("the handler's Location/Set-Cookie survived: %v", rec.Header())
	}
}

func TestDefaultErrorHandlerIs503(t *testing.T) {
	app := newTestApp(t, Config{})
	app.get("/put?k=v")
	app.st.fail.Store(true)
	resp, _ := app.do(app.client, "GET", "/get?k=k")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
}

func TestUnencodableValueIsReported(t *testing.T) {
	var handled error
	app := newTestApp(t, Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		handled = err
		http.Error(w, "bad", http.StatusInternalServerError)
	}})
	resp, body := app.do(app.client, "GET", "/bad-value")
	if !errors.Is(handled, ErrEncode) {
		t.Errorf("error handler got %v, want ErrEncode", handled)
	}
	if resp.StatusCode != 500 || strings.Contains(body, "should not be seen") {
		t.Errorf("status %d body %q, want the error response", resp.StatusCode, body)
	}
}

func TestConcurrentRequestsLoseNothing(t *testing.T) {
	app := newTestApp(t, Config{})
	app.get("/put?seed=1")
	const n = 100
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); app.get(fmt.Sprintf("/put?key%d=v", i)) }()
		go func() { defer wg.Done(); app.get("/incr") }()
	}
	wg.Wait()
	var all map[string]any
	json.Unmarshal([]byte(app.get("/all")), &all)
	for i := 0; i < n; i++ {
		if all[fmt.Sprintf("key%d", i)] != "v" {
			t.Errorf("key%d lost", i)
		}
	}
	if got := all["n"]; got != float64(n) {
		t.Errorf("counter = %v after %d concurrent increments, want %d", got, n, n)
	}
}

func TestIncrementNonNumber(t *testing.T) {
	app := newTestApp(t, Config{})
	app.get("/put?n=abc")
	resp, body := app.do(app.client, "GET", "/incr")
	if resp.StatusCode != 400 || !strings.Contains(body, "not an integer") {
		t.Errorf("got %d %q, want 400 not an integer", resp.StatusCode, body)
	}
}

func TestFlushCommitsFirst(t *testing.T) {
	app := newTestApp(t, Config{})
	resp, body := app.do(app.client, "GET", "/stream")
	if body != "part1\npart2\n" {
		t.Errorf("body %q", body)
	}
	if resp.Header.Get("Set-Cookie") == "" {
		t.Error("no Set-Cookie on a streamed response")
	}
	if got := app.get("/get?k=streamed"); got != "yes" {
		t.Errorf("streamed = %q, want yes", got)
	}
}

func TestTokenHeaderSource(t *testing.T) {
	app := newTestApp(t, Config{TokenHeader: "X-Session"})
	c := app.srv.Client()
	req, _ := http.NewRequest("GET", app.srv.URL+"/put?k=api", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tok := resp.Header.Get("X-Session")
	if !validID(tok) || len(resp.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("token %q, Set-Cookie %q; want a token header and no cookie", tok, resp.Header.Values("Set-Cookie"))
	}
	req, _ = http.NewRequest("GET", app.srv.URL+"/get?k=k", nil)
	req.Header.Set("X-Session", tok)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "api" {
		t.Errorf("got %q, want api", b)
	}
}

func TestTypedValuesRoundTripExactly(t *testing.T) {
	type item struct {
		SKU string
		Qty int
	}
	when := time.Date(2026, 11, 25, 10, 30, 0, 123456789, time.UTC)
	st := memstore.New()
	m, err := New(Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		if r.URL.Path == "/put" {
			s.Put("bytes", []byte{0, 1, 2, 255})
			s.Put("time", when)
			s.Put("big", int64(math.MaxInt64))
			s.Put("struct", item{"A1", 3})
			s.Put("map", map[string]int{"a": 1})
			s.Put("zero", 0)
			return
		}
		var errs []string
		check := func(name string, ok bool) {
			if !ok {
				errs = append(errs, name)
			}
		}
		b, ok := Get[[]byte](s, "bytes")
		check("bytes", ok && string(b) == "\x00\x01\x02\xff")
		tm, ok := Get[time.Time](s, "time")
		check("time", ok && tm.Equal(when))
		big, ok := Get[int64](s, "big")
		check("big", ok && big == math.MaxInt64)
		check("big any", s.Get("big") == int64(math.MaxInt64))
		it, ok := Get[item](s, "struct")
		check("struct", ok && it == item{"A1", 3})
		mp, ok := Get[map[string]int](s, "map")
		check("map", ok && mp["a"] == 1)
		z, ok := Get[int](s, "zero")
		check("zero", ok && z == 0)
		_, ok = Get[int](s, "struct")
		check("wrong type is not ok", !ok)
		check("GetOr default", GetOr(s, "missing", "dflt") == "dflt")
		check("GetOr wrong type", GetOr(s, "struct", 7) == 7)
		io.WriteString(w, strings.Join(errs, ","))
	}))
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := srv.Client()
	c.Jar = jar
	for _, p := range []string{"/put", "/check"} {
		resp, err := c.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if p == "/check" && len(b) > 0 {
			t.Errorf("values that did not round-trip: %s", b)
		}
	}
}

func TestSessionAPI(t *testing.T) {
	m, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var s *Session
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s = From(r) }))
	r := httptest.NewRequest("GET", "/", nil)
	h.ServeHTTP(httptest.NewRecorder(), r)
	// The session outlives its request only for this test's inspection.
	s.committed = false
	s.Put("a", 1)
	s.Put("b", "x")
	if !s.Has("a") || s.Has("zz") {
		t.Error("Has is wrong")
	}
	if got := s.Pull("a"); got != int64(1) {
		t.Errorf("Pull = %v, want 1", got)
	}
	if s.Has("a") {
		t.Error("Pull did not forget")
	}
	if n, _ := s.Decrement("c", 2); n != -2 {
		t.Errorf("Decrement from missing = %d, want -2", n)
	}
	s.Forget("b", "c")
	if len(s.All()) != 0 {
		t.Errorf("All = %v, want empty", s.All())
	}
	s.Put("d", true)
	s.Clear()
	if s.Has("d") {
		t.Error("Clear kept d")
	}
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"SameSite=None without Secure", Config{Cookie: CookieConfig{SameSite: http.SameSiteNoneMode, AllowInsecureHTTP: true}}},
		{"Partitioned without Secure", Config{Cookie: CookieConfig{Partitioned: true, AllowInsecureHTTP: true}}},
		{"__Host- name with a Domain", Config{Cookie: CookieConfig{Name: "__Host-x", Domain: "example.com"}}},
		{"negative lifetime", Config{Lifetime: -time.Hour}},
		{"touch share of 1", Config{TouchShare: 1}},
		{"unknown anomaly action", Config{Anomaly: AnomalyPolicy{Action: 9}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Error("New accepted it, want an error")
			}
		})
	}
}

func TestCookieNamePrefix(t *testing.T) {
	tests := []struct {
		cookie CookieConfig
		want   string
	}{
		{CookieConfig{}, "__Host-sid"},
		{CookieConfig{Name: "app"}, "__Host-app"},
		{CookieConfig{Domain: "example.com"}, "__Secure-sid"},
		{CookieConfig{Path: "/app"}, "__Secure-sid"},
		{CookieConfig{AllowInsecureHTTP: true}, "sid"},
		{CookieConfig{Name: "__Host-custom"}, "__Host-custom"},
	}
	for _, tt := range tests {
		m, err := New(Config{Cookie: tt.cookie, Logger: discardLogger()})
		if err != nil {
			t.Fatalf("%+v: %v", tt.cookie, err)
		}
		if got := m.CookieName(); got != tt.want {
			t.Errorf("%+v: name %q, want %q", tt.cookie, got, tt.want)
		}
	}
}

func TestIDs(t *testing.T) {
	seen := make(map[string]bool, 100000)
	for i := 0; i < 100000; i++ {
		id := newID()
		if !validID(id) {
			t.Fatalf("newID produced invalid %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate ID %q", id)
		}
		seen[id] = true
	}
}

// validID accepts exactly the canonical base64url encodings of 32 bytes:
// every byte in every position, checked against encoding/base64's strict
// decoder.
func TestValidIDAgreesWithBase64(t *testing.T) {
	good := newID()
	for pos := range len(good) {
		for c := range 256 {
			id := good[:pos] + string([]byte{byte(c)}) + good[pos+1:]
			b, err := base64.RawURLEncoding.Strict().DecodeString(id)
			if want := err == nil && len(b) == 32; validID(id) != want {
				t.Fatalf("byte %#x at %d: validID %v, want %v", c, pos, !want, want)
			}
		}
	}
}

func FuzzValidID(f *testing.F) {
	f.Add(newID())
	f.Add("")
	f.Add(strings.Repeat("/", 43))
	f.Fuzz(func(t *testing.T, s string) {
		if validID(s) {
			if len(s) != 43 {
				t.Fatalf("validID accepted length %d", len(s))
			}
			if strings.ContainsAny(s, "/+=.%\x00 ") {
				t.Fatalf("validID accepted %q", s)
			}
		}
	})
}

func TestMultipleManagers(t *testing.T) {
	a, _ := New(Config{Cookie: CookieConfig{Name: "a"}})
	b, _ := New(Config{Cookie: CookieConfig{Name: "b"}})
	h := a.Handler(b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.Session(r).Put("who", "a")
		b.Session(r).Put("who", "b")
		if From(r) != b.Session(r) {
			t.Error("From did not return the innermost manager's session")
		}
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
	names := map[string]bool{}
	for _, c := range rec.Result().Cookies() {
		names[c.Name] = true
	}
	if !names["__Host-a"] || !names["__Host-b"] {
		t.Errorf("cookies %v, want __Host-a and __Host-b", names)
	}
}

func TestPingAndReady(t *testing.T) {
	st := &countingStore{Store: memstore.New()}
	m, _ := New(Config{Store: st})
	if err := m.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	rec := httptest.NewRecorder()
	m.ReadyHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
	if rec.Code != 200 {
		t.Errorf("ready = %d, want 200", rec.Code)
	}
	st.fail.Store(true)
	if err := m.Ping(context.Background()); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("Ping on a failing store = %v, want ErrStoreUnavailable", err)
	}
	rec = httptest.NewRecorder()
	m.ReadyHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "unavailable") {
		t.Errorf("ready = %d %q, want 503 with the reason", rec.Code, rec.Body.String())
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestTooLargeSessionIsRefusedAndKept(t *testing.T) {
	var handled error
	app := newTestApp(t, Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		handled = err
		http.Error(w, "too large", http.StatusInternalServerError)
	}})
	app.get("/put?k=v")
	big := strings.Repeat("x", 1<<20+1)
	resp, _ := app.do(app.client, "GET", "/put?big="+big)
	if resp.StatusCode != 500 {
		t.Errorf("status %d, want the error handler's 500", resp.StatusCode)
	}
	if !errors.Is(handled, ErrTooLarge) || !strings.Contains(handled.Error(), "bytes") {
		t.Errorf("error handler got %v, want ErrTooLarge naming the size", handled)
	}
	if got := app.get("/get?k=k"); got != "v" {
		t.Errorf("stored session lost after an oversized write: k = %q", got)
	}
}

func TestChangesAfterTheResponseBegan(t *testing.T) {
	var logs strings.Builder
	app := newTestApp(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	app.srv.Config.Handler = app.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		switch r.URL.Path {
		case "/start":
			s.Put("a", "1")
		case "/late":
			s.Get("a")
			io.WriteString(w, "body first")
			s.Put("late", "kept")
			s.Increment("n", 1)
		case "/get":
			io.WriteString(w, GetOr(s, r.URL.Query().Get("k"), ""))
		}
	}))
	app.get("/start")
	app.get("/late")
	if got := app.get("/get?k=late"); got != "kept" {
		t.Errorf("a put after the body began was lost: late = %q", got)
	}
	// A brand-new session cannot get its cookie after the body began.
	fresh := app.newClient()
	app.do(fresh, "GET", "/late")
	if got := logs.String(); !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "reason=after-response") {
		t.Errorf("a lost late change was not logged at Error; logs:\n%s", got)
	}
}

func TestCopyOnWriteNeverChangesTheStoresRecord(t *testing.T) {
	ms := memstore.New()
	m, _ := New(Config{Store: ms, Logger: discardLogger()})
	var key string
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		switch r.URL.Path {
		case "/seed":
			s.Put("a", 1)
			s.Put("b", 2)
		case "/mutate":
			key = s.Hash()
			s.Put("a", 100)
			s.Forget("b")
			s.Increment("c", 5)
			// The change is not committed yet: the store must still hold
			// the old values, untouched by the session's writes.
			rec, _, _ := ms.LoadShared(r.Context(), key)
			if string(rec.Values["a"]) != "1" || string(rec.Values["b"]) != "2" || rec.Values["c"] != nil {
				t.Errorf("the session changed the store's record in place: %q", rec.Values)
			}
			panic(http.ErrAbortHandler) // abandon the request: nothing is committed
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/seed", nil))
	req := httptest.NewRequest("GET", "https://example.com/mutate", nil)
	req.AddCookie(rec.Result().Cookies()[0])
	func() {
		defer func() { recover() }()
		h.ServeHTTP(httptest.NewRecorder(), req)
	}()
	got, ok, _ := ms.Load(context.Background(), key)
	if !ok || string(got.Values["a"]) != "1" || string(got.Values["b"]) != "2" || len(got.Values) != 2 {
		t.Errorf("after an abandoned request the store holds %q, want a=1 b=2", got.Values)
	}
}

func TestIncrementSequences(t *testing.T) {
	tests := []struct {
		name     string
		seed     map[string]any // stored before
		ops      func(s *Session)
		wantNow  map[string]any // seen in the same request (All)
		wantNext map[string]any // seen by the next request
	}{
		{"increment a stored counter twice", map[string]any{"n": 5},
			func(s *Session) { s.Increment("n", 1); s.Increment("n", 2) },
			map[string]any{"n": int64(8)}, map[string]any{"n": int64(8)}},
		{"put then increment", nil,
			func(s *Session) { s.Put("n", 10); s.Increment("n", 1) },
			map[string]any{"n": int64(11)}, map[string]any{"n": int64(11)}},
		{"increment then put", map[string]any{"n": 5},
			func(s *Session) { s.Increment("n", 1); s.Put("n", 1) },
			map[string]any{"n": int64(1)}, map[string]any{"n": int64(1)}},
		{"increment then forget", map[string]any{"n": 5, "k": "v"},
			func(s *Session) { s.Increment("n", 1); s.Forget("n") },
			map[string]any{"k": "v"}, map[string]any{"k": "v"}},
		{"increment a new session's counter", nil,
			func(s *Session) { s.Increment("n", 3) },
			map[string]any{"n": int64(3)}, map[string]any{"n": int64(3)}},
		{"decrement below zero", map[string]any{"n": 1},
			func(s *Session) { s.Decrement("n", 3) },
			map[string]any{"n": int64(-2)}, map[string]any{"n": int64(-2)}},
		{"increment then clear", map[string]any{"n": 1},
			func(s *Session) { s.Increment("n", 3); s.Clear() },
			map[string]any{}, map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := New(Config{Logger: discardLogger()})
			var now, next map[string]any
			step := 0
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := From(r)
				switch step {
				case 0:
					s.Put("seeded", true)
					for k, v := range tt.seed {
						s.Put(k, v)
					}
				case 1:
					tt.ops(s)
					now = s.All()
				case 2:
					next = s.All()
				}
			}))
			var cookie *http.Cookie
			for step = 0; step < 3; step++ {
				r := httptest.NewRequest("GET", "https://example.com/", nil)
				if cookie != nil {
					r.AddCookie(cookie)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if cs := rec.Result().Cookies(); len(cs) > 0 {
					cookie = cs[0]
				}
			}
			delete(now, "seeded")
			delete(next, "seeded")
			if fmt.Sprint(now) != fmt.Sprint(tt.wantNow) {
				t.Errorf("in the request: %v, want %v", now, tt.wantNow)
			}
			if fmt.Sprint(next) != fmt.Sprint(tt.wantNext) {
				t.Errorf("next request: %v, want %v", next, tt.wantNext)
			}
		})
	}
}

func TestIncrementsAfterTheResponseBeganAreKept(t *testing.T) {
	m, _ := New(Config{Logger: discardLogger()})
	var got int64
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		if r.URL.Path == "/seed" {
			s.Put("n", 1)
			return
		}
		if r.URL.Path == "/read" {
			got = GetOr(s, "n", int64(0))
			return
		}
		s.Increment("n", 1) // committed at the first write
		io.WriteString(w, "body")
		s.Increment("n", 10) // committed after the handler returns
		got = GetOr(s, "n", int64(0))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/seed", nil))
	cookie := rec.Result().Cookies()[0]
	for _, p := range []string{"/late", "/read"} {
		r := httptest.NewRequest("GET", "https://example.com"+p, nil)
		r.AddCookie(cookie)
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != 12 {
			t.Errorf("%s sees n = %d, want 12", p, got)
		}
	}
}
