// Package flowtest runs the session manager's main flows, through real
// HTTP and a cookie jar, on any store: the behaviour users see must be the
// same on every store. It uses only sesame's public API, so that the store
// modules (redisstore, sqlstore) can run it against their servers; the
// root package runs it on memstore and filestore.
package flowtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/store"
)

// App is a manager serving a small app over TLS, with a client that keeps
// cookies. Each path of the app does one session operation and prints its
// result.
type App struct {
	t      *testing.T
	M      *sesame.Manager
	Srv    *httptest.Server
	Client *http.Client
}

// NewApp starts the app with cfg; the server stops when the test ends.
func NewApp(t *testing.T, cfg sesame.Config) *App {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
		if os.Getenv("SESAME_TEST_LOG") != "" {
			cfg.Logger = slog.Default()
		}
	}
	m, err := sesame.New(cfg)
	if err != nil {
		t.Fatalf("sesame.New: %v", err)
	}
	a := &App{t: t, M: m}
	a.Srv = httptest.NewTLSServer(m.Handler(mux()))
	t.Cleanup(a.Srv.Close)
	a.Client = a.NewClient()
	return a
}

// NewClient returns a client with an empty cookie jar (another browser).
func (a *App) NewClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := *a.Srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// Do sends a request with client c and returns the response and its body.
func (a *App) Do(c *http.Client, method, path string) (*http.Response, string) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.Srv.URL+path, nil)
	resp, err := c.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Get sends a GET with the app's client and returns the body.
func (a *App) Get(path string) string {
	a.t.Helper()
	_, body := a.Do(a.Client, "GET", path)
	return body
}

// SessionCookie returns c's session cookie value ("" if none).
func (a *App) SessionCookie(c *http.Client) string {
	u, _ := url.Parse(a.Srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == a.M.CookieName() {
			return ck.Value
		}
	}
	return ""
}

// WithCookie returns a client that always sends the session cookie value.
func (a *App) WithCookie(value string) *http.Client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(a.Srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: a.M.CookieName(), Value: value, Path: "/"}})
	c := *a.Srv.Client()
	c.Jar = jar
	return &c
}

func mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		for k, v := range r.URL.Query() {
			s.Put(k, v[0])
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		if err := s.Err(); err != nil {
			io.WriteString(w, "err")
			return
		}
		v, _ := sesame.Get[string](s, r.URL.Query().Get("k"))
		io.WriteString(w, v)
	})
	mux.HandleFunc("/all", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(sesame.From(r).All())
	})
	mux.HandleFunc("/incr", func(w http.ResponseWriter, r *http.Request) {
		n, err := sesame.From(r).Increment("n", 1)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		if err := s.Regenerate(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		s.Put("user", "alice")
		s.SetUser("alice")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		sesame.From(r).Destroy()
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/flash", func(w http.ResponseWriter, r *http.Request) {
		sesame.From(r).Flash("notice", r.URL.Query().Get("v"))
		http.Redirect(w, r, "/show-flash", http.StatusSeeOther)
	})
	mux.HandleFunc("/show-flash", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sesame.From(r).Flashes().String("notice"))
	})
	// /poll and /track are what a page does while the user logs in: a
	// read-only poll and an analytics write, both answered a little late.
	mux.HandleFunc("/poll", func(w http.ResponseWriter, r *http.Request) {
		v, _ := sesame.Get[string](sesame.From(r), "user")
		time.Sleep(5 * time.Millisecond)
		io.WriteString(w, v)
	})
	mux.HandleFunc("/track", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		s.Get("user")
		time.Sleep(5 * time.Millisecond)
		s.PushKeep("seen", r.URL.Query().Get("page"), 5)
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/push", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		s.Push(r.URL.Query().Get("k"), r.URL.Query().Get("v"))
		s.Put("also", "set")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		v, _ := sesame.Get[[]string](sesame.From(r), r.URL.Query().Get("k"))
		json.NewEncoder(w).Encode(v)
	})
	return mux
}

// Flows runs every flow on st: the races, bad user IDs, and the basic
// put/get, regenerate, logout, flash and concurrency flows.
func Flows(t *testing.T, st store.Store) {
	t.Run("races", func(t *testing.T) { Races(t, st) })
	t.Run("a bad user ID is the app's error", func(t *testing.T) { BadUserIDs(t, st) })
	t.Run("put and get across requests", func(t *testing.T) {
		app := NewApp(t, sesame.Config{Store: st})
		app.Get("/put?k=v")
		if got := app.Get("/get?k=k"); got != "v" {
			t.Errorf("got %q, want v", got)
		}
	})
	t.Run("regenerate keeps data and kills the old ID", func(t *testing.T) {
		app := NewApp(t, sesame.Config{Store: st})
		app.Get("/put?cart=3")
		before := app.SessionCookie(app.Client)
		app.Get("/login")
		if after := app.SessionCookie(app.Client); after == before {
			t.Fatal("ID did not change")
		}
		if got := app.Get("/get?k=cart"); got != "3" {
			t.Errorf("cart = %q after regenerate", got)
		}
		if _, body := app.Do(app.WithCookie(before), "GET", "/get?k=cart"); body != "" {
			t.Errorf("old ID still loads %q", body)
		}
	})
	t.Run("logout replay gives an empty session", func(t *testing.T) {
		app := NewApp(t, sesame.Config{Store: st})
		app.Get("/login")
		old := app.SessionCookie(app.Client)
		app.Do(app.Client, "POST", "/logout")
		if _, body := app.Do(app.WithCookie(old), "GET", "/get?k=user"); body != "" {
			t.Errorf("pre-logout cookie shows %q", body)
		}
	})
	t.Run("a flash is consumed exactly once under a race", func(t *testing.T) {
		app := NewApp(t, sesame.Config{Store: st})
		for round := 0; round < 5; round++ {
			app.Get("/flash?v=once")
			var wg sync.WaitGroup
			var seen atomic.Int64
			for range 6 {
				wg.Go(func() {
					if app.Get("/show-flash") == "once" {
						seen.Add(1)
					}
				})
			}
			wg.Wait()
			if seen.Load() != 1 {
				t.Fatalf("round %d: flash seen %d times", round, seen.Load())
			}
		}
	})
	t.Run("concurrent requests lose nothing", func(t *testing.T) {
		const n = 50 // per kind; storetest checks 100 writers at the store level
		app := NewApp(t, sesame.Config{Store: st, StoreTimeout: 30 * time.Second})
		app.Get("/put?seed=1")
		var wg sync.WaitGroup
		var failed atomic.Int64
		do := func(path string) {
			resp, body := app.Do(app.Client, "GET", path)
			if resp.StatusCode != 200 {
				failed.Add(1)
				t.Logf("%s: %d %s", path, resp.StatusCode, body)
			}
		}
		for i := 0; i < n; i++ {
			wg.Go(func() { do(fmt.Sprintf("/put?key%d=v", i)) })
			wg.Go(func() { do("/incr") })
		}
		wg.Wait()
		if failed.Load() != 0 {
			t.Fatalf("%d of %d requests failed", failed.Load(), 2*n)
		}
		var all map[string]any
		json.Unmarshal([]byte(app.Get("/all")), &all)
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

// Races runs the races real browsers start every day, through a real
// cookie jar: requests still carrying the old cookie are answered after the
// login (or logout) that ended it.
func Races(t *testing.T, st store.Store) {
	t.Run("a login while the page polls keeps the user logged in 20 times out of 20", func(t *testing.T) {
		app := NewApp(t, sesame.Config{Store: st})
		for trial := range 20 {
			c := app.NewClient()
			app.Do(c, "GET", "/put?cart=1") // an anonymous session, as a shop has
			before := app.SessionCookie(c)
			var stop atomic.Bool
			var wg sync.WaitGroup
			var lateSetCookies atomic.Int32
			for w := range 3 {
				wg.Go(func() {
					for i := 0; !stop.Load(); i++ {
						path := "/poll"
						if w == 2 {
							path = fmt.Sprintf("/track?page=p%d", i)
						}
						resp, _ := app.Do(c, "GET", path)
						if len(resp.Header.Values("Set-Cookie")) > 0 {
							lateSetCookies.Add(1)
						}
					}
				})
			}
			time.Sleep(10 * time.Millisecond)
			resp, _ := app.Do(c, "GET", "/login")
			if resp.StatusCode != 200 {
				t.Fatalf("trial %d: login answered %d", trial, resp.StatusCode)
			}
			time.Sleep(30 * time.Millisecond) // polls sent with the old cookie come back now
			stop.Store(true)
			wg.Wait()
			after := app.SessionCookie(c)
			if after == "" || after == before {
				t.Fatalf("trial %d: the browser's cookie is %q after login (was %q): logged out by a late response", trial, after, before)
			}
			if _, body := app.Do(c, "GET", "/get?k=user"); body != "alice" {
				t.Fatalf("trial %d: user %q after login, want alice", trial, body)
			}
			if n := lateSetCookies.Load(); n > 0 {
				t.Errorf("trial %d: %d poll responses carried a Set-Cookie", trial, n)
			}
		}
	})

	t.Run("a request still in flight at logout neither re-creates nor re-cookies the session", func(t *testing.T) {
		app := NewApp(t, sesame.Config{Store: st})
		c := app.NewClient()
		app.Do(c, "GET", "/login")
		old := app.SessionCookie(c)
		var wg sync.WaitGroup
		var setCookies atomic.Int32
		for i := range 4 {
			wg.Go(func() {
				resp, _ := app.Do(c, "GET", fmt.Sprintf("/track?page=late%d", i))
				setCookies.Add(int32(len(resp.Header.Values("Set-Cookie"))))
			})
		}
		time.Sleep(time.Millisecond)
		resp, _ := app.Do(c, "GET", "/logout")
		if !strings.Contains(resp.Header.Get("Set-Cookie"), "Max-Age=0") {
			t.Errorf("logout Set-Cookie %q does not clear the cookie", resp.Header.Get("Set-Cookie"))
		}
		wg.Wait()
		time.Sleep(20 * time.Millisecond)
		for range 3 { // more requests with the old cookie, answered after logout
			resp, _ := app.Do(app.WithCookie(old), "GET", "/track?page=after")
			setCookies.Add(int32(len(resp.Header.Values("Set-Cookie"))))
		}
		if n := setCookies.Load(); n > 0 {
			t.Errorf("%d late responses carried a Set-Cookie", n)
		}
		if got := app.SessionCookie(c); got != "" {
			t.Errorf("the browser holds session cookie %q after logout, want none", got)
		}
		MustHoldNoSession(t, app.M.Store(), store.Key(old))
	})

	t.Run("an unknown or expired ID is never deleted by a read", func(t *testing.T) {
		app := NewApp(t, sesame.Config{Store: st})
		c := app.WithCookie(NewID())
		resp, _ := app.Do(c, "GET", "/poll")
		if sc := resp.Header.Values("Set-Cookie"); len(sc) > 0 {
			t.Errorf("a read with an unknown ID sent Set-Cookie %q", sc)
		}
		resp, _ = app.Do(c, "GET", "/put?k=v") // a write starts a session, as it must
		if sc := resp.Header.Get("Set-Cookie"); sc == "" || strings.Contains(sc, "Max-Age=0") {
			t.Errorf("a write with an unknown ID sent Set-Cookie %q, want a new session", sc)
		}
	})

	t.Run("50 concurrent pushes leave 50 elements", func(t *testing.T) {
		app := NewApp(t, sesame.Config{Store: st})
		app.Get("/put?k=v")
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() { app.Get(fmt.Sprintf("/push?k=log&v=e%d", i)) })
		}
		wg.Wait()
		var got []string
		if err := json.Unmarshal([]byte(app.Get("/list?k=log")), &got); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range got {
			seen[e] = true
		}
		if len(got) != 50 || len(seen) != 50 {
			t.Errorf("got %d elements (%d distinct), want 50", len(got), len(seen))
		}
	})

	t.Run("a push onto a value that is not a list fails and stores nothing", func(t *testing.T) {
		app := NewApp(t, sesame.Config{Store: st})
		app.Get("/put?k=v")
		resp, _ := app.Do(app.Client, "GET", "/push?k=k&v=x")
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("push onto a string answered %d, want 500", resp.StatusCode)
		}
		if got := app.Get("/get?k=also"); got != "" {
			t.Errorf("the rest of the change set was stored: also = %q", got)
		}
		if got := app.Get("/get?k=k"); got != "v" {
			t.Errorf("k = %q, want v", got)
		}
	})
}

// MustHoldNoSession fails t unless st holds nothing under key, or only a
// tombstone: no values, no user, gone within a minute.
func MustHoldNoSession(t *testing.T, st store.Store, key string) {
	t.Helper()
	rec, ok, err := st.Load(context.Background(), key)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !ok {
		return
	}
	if !store.IsTombstone(rec) || len(rec.Values) != 1 || rec.UserID != "" ||
		rec.Expires.After(time.Now().Add(time.Minute+time.Second)) {
		t.Errorf("the old key holds %d values (tombstone %v), user %q, expiring %v: want a tombstone",
			len(rec.Values), store.IsTombstone(rec), rec.UserID, rec.Expires)
	}
}

// NewID returns a well-formed session ID that no store knows.
func NewID() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// badUserIDs are user IDs that no store accepts.
var badUserIDs = map[string]string{
	"300 bytes":        strings.Repeat("u", 300),
	"a NUL":            "alice\x00",
	"not UTF-8":        "al\xffce",
	"a control char":   "alice\n",
	"256 bytes of é/2": strings.Repeat("é", 128),
}

// BadUserIDs checks that a bad user ID is the app's error on st (a 500
// with [sesame.ErrInvalid], no cookie, no Error log), not a store outage.
func BadUserIDs(t *testing.T, st store.Store) {
	for name, id := range badUserIDs {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			var mu sync.Mutex
			var last error
			m, err := sesame.New(sesame.Config{
				Store: st,
				ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
					mu.Lock()
					last = err
					mu.Unlock()
					sesame.DefaultErrorHandler(w, r, err)
				},
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := sesame.From(r)
				s.Put("cart", 1)
				s.SetUser(id)
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
			mu.Lock()
			got := last
			mu.Unlock()
			if rec.Code != 500 || !errors.Is(got, sesame.ErrInvalid) || errors.Is(got, sesame.ErrStoreUnavailable) {
				t.Errorf("got %d with %v, want 500 and ErrInvalid (not a store outage)", rec.Code, got)
			}
			if len(rec.Result().Cookies()) != 0 {
				t.Errorf("a cookie was set: %v", rec.Result().Cookies())
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("logged at Error: %s", logs.String())
			}
		})
	}
}
