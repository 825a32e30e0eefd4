package sesame

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unsafe"

	"github.com/sesamego/sesame/cookiestore"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/seal"
	"github.com/sesamego/sesame/store"
)

// A framework of the kind Load and Save are for: its handlers get a context
// and the query, not a ResponseWriter, and it writes the response after they
// return (as fasthttp and fiber do). ops is the app: ?op= names the session
// operation, ?k= and ?v= its key and value; it answers the value of k.
func loadedHandler(m *Manager, saves int, after func(r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lr, err := m.Load(r)
		if err != nil {
			m.Error(w, r, err)
			return
		}
		body := loadedOps(lr.Context(), r.URL.Query())
		h := http.Header{}
		for range saves {
			saved, err := m.Save(lr)
			if err != nil {
				m.Error(w, r, err)
				return
			}
			for k, vs := range saved {
				h[k] = append(h[k], vs...)
			}
		}
		for k, vs := range h {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		io.WriteString(w, body)
		if after != nil {
			after(lr)
		}
	})
}

func loadedOps(ctx context.Context, q url.Values) string {
	s := FromContext(ctx)
	k := q.Get("k")
	if k == "" {
		k = "k"
	}
	switch q.Get("op") {
	case "":
		return ""
	case "put":
		s.Put(k, q.Get("v"))
	case "incr":
		n, _ := s.Increment(k, 1)
		return fmt.Sprint(n)
	case "regenerate":
		s.Regenerate()
	case "destroy":
		s.Destroy()
	}
	return GetOr(s, k, "")
}

// loadedApp serves loadedHandler on a TLS test server.
func loadedApp(t *testing.T, cfg Config, saves int, after func(r *http.Request)) *testApp {
	t.Helper()
	st := &countingStore{Store: memstore.New()}
	if cfg.Store == nil {
		cfg.Store = st
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	app := &testApp{t: t, m: m, st: st}
	app.srv = httptest.NewTLSServer(loadedHandler(m, saves, after))
	t.Cleanup(app.srv.Close)
	app.client = app.newClient()
	return app
}

func TestLoadAndSaveKeepTheMiddlewaresGuarantees(t *testing.T) {
	type step struct {
		path       string
		wantBody   string
		wantCookie string // "" none, "set", "clear"
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"an untouched session sends no cookie", []step{{"/", "", ""}}},
		{"a read of no session sends no cookie", []step{{"/?op=get", "", ""}}},
		{"a put starts a session that the next request reads", []step{
			{"/?op=put&v=1", "1", "set"}, {"/?op=get", "1", ""}}},
		{"a change to a stored session sends no cookie and is kept", []step{
			{"/?op=put&v=1", "1", "set"}, {"/?op=put&v=2", "2", ""}, {"/?op=get", "2", ""}}},
		{"regenerate sends a new cookie and keeps the data", []step{
			{"/?op=put&v=1", "1", "set"}, {"/?op=regenerate", "1", "set"}, {"/?op=get", "1", ""}}},
		{"destroy clears the cookie and the data", []step{
			{"/?op=put&v=1", "1", "set"}, {"/?op=destroy", "", "clear"}, {"/?op=get", "", ""}}},
		{"increments count once", []step{
			{"/?op=incr", "1", "set"}, {"/?op=incr", "2", ""}, {"/?op=get", "", ""}, {"/?op=incr", "3", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := loadedApp(t, Config{}, 1, nil)
			for _, s := range tt.steps {
				resp, body := app.do(app.client, "GET", s.path)
				if strings.TrimSpace(body) != s.wantBody {
					t.Errorf("%s: body %q, want %q", s.path, body, s.wantBody)
				}
				var got string
				for _, c := range resp.Cookies() {
					got = "set"
					if c.MaxAge < 0 {
						got = "clear"
					}
				}
				if got != s.wantCookie {
					t.Errorf("%s: cookie %q, want %q", s.path, got, s.wantCookie)
				}
				if got != "" && resp.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("%s: Cache-Control %q with a cookie, want no-store", s.path, resp.Header.Get("Cache-Control"))
				}
				if read := s.path != "/"; read != (resp.Header.Get("Vary") == "Cookie") {
					t.Errorf("%s: Vary %q, want Cookie exactly when the session was read", s.path, resp.Header.Get("Vary"))
				}
			}
		})
	}
}

func TestUntouchedSessionCostsNoStoreIOWithLoad(t *testing.T) {
	app := loadedApp(t, Config{}, 2, nil)
	app.get("/")
	if n := app.st.calls(); n != 0 {
		t.Errorf("%d store calls for a request that never used its session, want 0", n)
	}
}

func TestLoadLeavesATombstoneAfterRegenerate(t *testing.T) {
	app := loadedApp(t, Config{}, 1, nil)
	app.get("/?op=put&v=1")
	old := app.withCookie(app.sessionCookie(app.client))
	app.get("/?op=regenerate")
	// A request still carrying the old cookie starts no session and sends
	// no cookie that would replace the new one.
	resp, _ := app.do(old, "GET", "/?op=put&k=x&v=late")
	if len(resp.Cookies()) != 0 {
		t.Errorf("the old ID got a cookie %v after regenerate", resp.Cookies())
	}
	if got := app.get("/?op=get"); got != "1" {
		t.Errorf("the new session holds %q, want 1", got)
	}
}

func TestLoadRefusesCrossOriginRequests(t *testing.T) {
	tests := []struct {
		name    string
		cfg     CrossOriginConfig
		method  string
		site    string
		wantErr bool
	}{
		{"a cross-site POST is refused", CrossOriginConfig{}, "POST", "cross-site", true},
		{"a same-origin POST passes", CrossOriginConfig{}, "POST", "same-origin", false},
		{"a cross-site GET passes", CrossOriginConfig{}, "GET", "cross-site", false},
		{"a cross-site POST passes when the check is off", CrossOriginConfig{Disable: true}, "POST", "cross-site", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(Config{CrossOrigin: tt.cfg, Logger: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(tt.method, "https://example.com/", nil)
			r.Header.Set("Sec-Fetch-Site", tt.site)
			lr, err := m.Load(r)
			if !tt.wantErr {
				if err != nil || lr == nil || FromContext(lr.Context()) == nil {
					t.Fatalf("Load = %v, %v; want a request with a session", lr, err)
				}
				return
			}
			if lr != nil || !errors.Is(err, ErrCrossOrigin) || !errors.Is(err, ErrForbidden) {
				t.Fatalf("Load = %v, %v; want nil and ErrCrossOrigin (ErrForbidden)", lr, err)
			}
			if got := StatusCode(err); got != http.StatusForbidden {
				t.Errorf("StatusCode = %d, want 403", got)
			}
		})
	}
}

func TestSaveReportsAStoreOutageEveryTime(t *testing.T) {
	st := &switchStore{Store: memstore.New()}
	m, _ := New(Config{Store: st, Logger: discardLogger()})
	st.fail.Store(true)
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	r.AddCookie(&http.Cookie{Name: m.CookieName(), Value: newID()})
	r, _ = m.Load(r)
	From(r).Put("k", "v")
	for i := range 2 {
		h, err := m.Save(r)
		if h != nil || !errors.Is(err, ErrStoreUnavailable) || StatusCode(err) != http.StatusServiceUnavailable {
			t.Errorf("Save #%d = %v, %v; want nil and ErrStoreUnavailable (503)", i+1, h, err)
		}
	}
}

func TestSaveCommitsEachChangeOnce(t *testing.T) {
	app := loadedApp(t, Config{}, 3, nil)
	app.get("/?op=incr")
	app.get("/?op=incr")
	if got := app.get("/?op=incr"); got != "3" {
		t.Errorf("after three requests that Save three times each, n = %s, want 3", got)
	}
	before := app.st.applies.Load()
	app.get("/?op=incr")
	if n := app.st.applies.Load() - before; n != 1 {
		t.Errorf("one increment saved three times cost %d store writes, want 1", n)
	}
}

func TestSaveAfterSave(t *testing.T) {
	rec := &eventRecorder{}
	var logs logBuffer
	m, _ := New(Config{OnEvent: rec.record, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	seed, _ := m.Load(httptest.NewRequest("GET", "https://example.com/", nil))
	From(seed).Put("k", "v")
	h, err := m.Save(seed)
	if err != nil || len(h.Values("Set-Cookie")) != 1 {
		t.Fatalf("first Save = %v, %v; want one Set-Cookie", h, err)
	}
	cookie := h.Get("Set-Cookie")
	load := func() *http.Request {
		r := httptest.NewRequest("GET", "https://example.com/ws", nil)
		r.Header.Set("Cookie", cookie)
		r, _ = m.Load(r)
		return r
	}

	// A websocket handler goes on after its upgrade response and changes
	// the stored session: each Save commits what changed since the last.
	r := load()
	From(r).Get("k")
	if h, err := m.Save(r); err != nil || h.Get("Set-Cookie") != "" {
		t.Fatalf("Save before the upgrade = %v, %v", h, err)
	}
	From(r).Put("late", "kept")
	if h, err := m.Save(r); err != nil || h != nil {
		t.Errorf("Save of a later change = %v, %v; want no header, no error", h, err)
	}
	if got := GetOr(From(load()), "late", ""); got != "kept" {
		t.Errorf("a change saved after the first Save was lost: late = %q", got)
	}

	// A change that needs a new cookie cannot be sent any more: refused
	// loudly, and the session stays as it was.
	From(r).Regenerate()
	h, err = m.Save(r)
	if h != nil || !errors.Is(err, ErrUncommitted) {
		t.Errorf("Save of a late Regenerate = %v, %v; want ErrUncommitted", h, err)
	}
	if ev := rec.of(EventUncommitted); len(ev) != 1 || ev[0].Reason != "after-response" || ev[0].Path != "/ws" {
		t.Errorf("events %+v, want one EventUncommitted after-response on /ws", ev)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the refused change was not logged at Error:\n%s", logs.String())
	}
	if got := GetOr(From(load()), "k", ""); got != "v" {
		t.Errorf("the refused Regenerate changed the session: k = %q", got)
	}
}

func TestSaveNeedsARequestFromLoad(t *testing.T) {
	m, _ := New(Config{Logger: discardLogger()})
	if _, err := m.Save(httptest.NewRequest("GET", "https://example.com/", nil)); err == nil {
		t.Error("Save of a request that Load did not prepare: no error")
	}
	var saveErr error
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		From(r).Put("k", "v")
		_, saveErr = m.Save(r)
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://example.com/", nil))
	if saveErr == nil || !strings.Contains(saveErr.Error(), "Commit") {
		t.Errorf("Save inside Handler = %v, want an error pointing to Commit", saveErr)
	}
	other, _ := New(Config{Logger: discardLogger()})
	r, _ := other.Load(httptest.NewRequest("GET", "https://example.com/", nil))
	if _, err := m.Save(r); err == nil {
		t.Error("Save of a request that another manager loaded: no error")
	}
}

func TestCommitWritesALoadedSessionsHeaders(t *testing.T) {
	m, _ := New(Config{Logger: discardLogger()})
	r, _ := m.Load(httptest.NewRequest("GET", "https://example.com/", nil))
	From(r).Put("k", "v")
	w := httptest.NewRecorder()
	w.Header().Set("Cache-Control", "private, max-age=60")
	if err := m.Commit(w, r); err != nil {
		t.Fatal(err)
	}
	if len(w.Result().Cookies()) != 1 || w.Header().Values("Cache-Control")[0] != "private, max-age=60" ||
		len(w.Header().Values("Cache-Control")) != 1 || w.Header().Get("Vary") != "Cookie" {
		t.Errorf("headers %v; want the cookie, Vary: Cookie and the handler's own Cache-Control only", w.Header())
	}
}

func TestSaveSendsTheTokenHeader(t *testing.T) {
	m, _ := New(Config{TokenHeader: "X-Session", Logger: discardLogger()})
	r, _ := m.Load(httptest.NewRequest("GET", "https://example.com/", nil))
	From(r).Put("k", "v")
	h, err := m.Save(r)
	if err != nil || !validID(h.Get("X-Session")) || h.Get("Set-Cookie") != "" {
		t.Errorf("Save = %v, %v; want the session ID in X-Session and no cookie", h, err)
	}
}

func TestSaveWithACookieStore(t *testing.T) {
	keys, err := seal.NewKeyring(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cookiestore.New(cookiestore.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	var _ store.Store = cs
	app := loadedApp(t, Config{Store: cs}, 1, nil)
	app.get("/?op=put&v=in-the-cookie")
	if got := app.get("/?op=get"); got != "in-the-cookie" {
		t.Errorf("a cookie-store session saved through Save reads back %q", got)
	}
}

// TestSetUserKeepsCopies: a request converted from fasthttp (fiber's
// adaptor) shares its strings with buffers that are reused after the
// request; what the session stores must not change with them.
func TestSetUserKeepsCopies(t *testing.T) {
	ms := memstore.New()
	m, _ := New(Config{Store: ms, Logger: discardLogger()})
	buf := []byte("agent-1 user-1")
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	r.Header["User-Agent"] = []string{unsafe.String(&buf[0], 7)}
	r, _ = m.Load(r)
	s := From(r)
	s.Put("k", "v")
	s.SetUser(unsafe.String(&buf[8], 6))
	if _, err := m.Save(r); err != nil {
		t.Fatal(err)
	}
	key := s.Hash()
	copy(buf, "AGENT-2 USER-2") // fasthttp reuses the buffer
	rec, ok, err := ms.Load(context.Background(), key)
	if err != nil || !ok || rec.UserAgent != "agent-1" || rec.UserID != "user-1" {
		t.Errorf("stored user %q agent %q (%v %v), want user-1 and agent-1", rec.UserID, rec.UserAgent, ok, err)
	}
}
