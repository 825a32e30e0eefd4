package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

	"github.com/gin-gonic/gin"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/store"
)

// browser drives the app over HTTPS with a cookie jar, as a browser would.
type browser struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func newBrowser(t *testing.T, cfg sesame.Config) *browser {
	t.Helper()
	h, err := newHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return browse(t, h)
}

// browse serves h to a new browser.
func browse(t *testing.T, h http.Handler) *browser {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	c := *srv.Client()
	c.Jar, _ = cookiejar.New(nil)
	return &browser{t: t, srv: srv, c: &c}
}

// do sends a request (a form when form is not nil) and returns the final
// response's status, Content-Type and body, after redirects.
func (b *browser) do(method, path string, form url.Values, site string) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", site)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(out)
}

func (b *browser) page() string {
	b.t.Helper()
	code, _, body := b.do("GET", "/", nil, "none")
	if code != http.StatusOK {
		b.t.Fatalf("GET / answered %d: %s", code, body)
	}
	return body
}

var tokenRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// token returns the CSRF token of the page's form.
func (b *browser) token() string {
	b.t.Helper()
	m := tokenRE.FindStringSubmatch(b.page())
	if m == nil {
		b.t.Fatal("no CSRF token in the page")
	}
	return m[1]
}

// sessionID returns the session cookie's value.
func (b *browser) sessionID() string {
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if strings.HasSuffix(c.Name, "sid") {
			return c.Value
		}
	}
	return ""
}

func TestSessionSurvivesRequests(t *testing.T) {
	b := newBrowser(t, sesame.Config{})
	for _, want := range []string{"visit 1.", "visit 2.", "visit 3."} {
		if body := b.page(); !strings.Contains(body, want) {
			t.Fatalf("page says %q, want %q", body, want)
		}
	}
	_, ctype, body := b.do("GET", "/api/me", nil, "none")
	var me struct{ Visits int }
	if err := json.Unmarshal([]byte(body), &me); err != nil || me.Visits != 3 || !strings.HasPrefix(ctype, "application/json") {
		t.Errorf("/api/me = %s %q, want JSON with 3 visits", ctype, body)
	}
}

func TestLoginRotatesTheIDAndLogoutForgets(t *testing.T) {
	b := newBrowser(t, sesame.Config{})
	tok := b.token()
	before := b.sessionID()
	code, _, body := b.do("POST", "/login", url.Values{"name": {"Ada"}, "_csrf": {tok}}, "same-origin")
	if code != http.StatusOK || !strings.Contains(body, "<b>Welcome, Ada!</b>") || !strings.Contains(body, "Hello Ada") {
		t.Fatalf("after login: %d %q, want the welcome flash and the name", code, body)
	}
	after := b.sessionID()
	if before == "" || after == "" || before == after {
		t.Errorf("session ID %q before login, %q after: want a new one", before, after)
	}
	if body := b.page(); strings.Contains(body, "Welcome") || !strings.Contains(body, "Hello Ada") {
		t.Errorf("next page %q: want the name and no flash (a flash is shown once)", body)
	}
	// The old ID is dead: a client still sending it is a stranger.
	req, _ := http.NewRequest("GET", b.srv.URL+"/api/me", nil)
	req.AddCookie(&http.Cookie{Name: "__Host-sid", Value: before})
	resp, err := b.srv.Client().Do(req) // no jar: only the old cookie
	if err != nil {
		t.Fatal(err)
	}
	oldBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(oldBody), "Ada") {
		t.Errorf("the pre-login ID still opens the session: %s", oldBody)
	}

	code, _, body = b.do("POST", "/logout", url.Values{"_csrf": {b.token()}}, "same-origin")
	if code != http.StatusOK || !strings.Contains(body, "Goodbye!") || !strings.Contains(body, "Hello stranger") {
		t.Errorf("after logout: %d %q, want the goodbye flash and a stranger", code, body)
	}
}

func TestRefusalsAreJSON(t *testing.T) {
	b := newBrowser(t, sesame.Config{})
	tok := b.token()
	tests := []struct {
		name    string
		form    url.Values
		site    string
		wantMsg string
	}{
		{"a login without the CSRF token", url.Values{"name": {"Mallory"}}, "same-origin", "CSRF token"},
		{"a login with a forged token", url.Values{"name": {"Mallory"}, "_csrf": {"forged"}}, "same-origin", "CSRF token"},
		{"a login posted from another site, even with the token", url.Values{"name": {"Mallory"}, "_csrf": {tok}}, "cross-site", "cross-origin"},
	}
	for _, tt := range tests {
		code, ctype, body := b.do("POST", "/login", tt.form, tt.site)
		var e struct{ Error string }
		if code != http.StatusForbidden || !strings.HasPrefix(ctype, "application/json") || json.Unmarshal([]byte(body), &e) != nil ||
			!strings.Contains(e.Error, tt.wantMsg) {
			t.Errorf("%s: %d %s %q, want 403 JSON naming %q", tt.name, code, ctype, body, tt.wantMsg)
		}
	}
	if body := b.page(); strings.Contains(body, "Mallory") {
		t.Error("a refused login logged in")
	}
}

// downStore is a session store whose server is unreachable.
type downStore struct{}

var errDown = errors.New("connection refused")

func (downStore) Load(context.Context, string) (store.Record, bool, error) {
	return store.Record{}, false, errDown
}
func (downStore) Apply(context.Context, string, store.Change) error { return errDown }
func (downStore) Delete(context.Context, string) error              { return errDown }

func TestStoreOutageIsJSON(t *testing.T) {
	b := newBrowser(t, sesame.Config{Store: downStore{}})
	code, ctype, body := b.do("GET", "/", nil, "none")
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(ctype, "application/json") || !strings.Contains(body, "unavailable") {
		t.Errorf("with the store down: %d %s %q, want 503 JSON", code, ctype, body)
	}
}

func init() { gin.SetMode(gin.TestMode) }

// wrongAdapter is the gin middleware people write first: it runs sesame's
// Handler and hands its request on to gin, but not its writer. gin's
// handlers then write through c.Writer, around sesame, and the cookie of a
// new session (or of a login's new ID) cannot be sent any more.
func wrongAdapter(m *sesame.Manager) gin.HandlerFunc {
	return func(c *gin.Context) {
		m.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
	}
}

// syncBuffer collects the log lines of the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// observed is a session configuration whose Error logs and uncommitted
// events the test reads.
func observed() (sesame.Config, *syncBuffer, func() []sesame.Event) {
	logs := &syncBuffer{}
	var mu sync.Mutex
	var events []sesame.Event
	cfg := sesame.Config{
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError})),
		OnEvent: func(_ context.Context, e sesame.Event) {
			if e.Kind == sesame.EventUncommitted {
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			}
		},
	}
	return cfg, logs, func() []sesame.Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]sesame.Event(nil), events...)
	}
}

// TestTheWrongAdapterIsCaughtLoudly: with the adapter that passes c.Request
// but not the writer, a new session whose page gin writes is lost (the page
// went out before sesame could add its cookie), and sesame says so at Error
// and with an EventUncommitted instead of failing silently.
func TestTheWrongAdapterIsCaughtLoudly(t *testing.T) {
	cfg, logs, events := observed()
	m, err := sesame.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := browse(t, newEngine(wrongAdapter(m)))
	for range 2 {
		if body := b.page(); !strings.Contains(body, "visit 1.") {
			t.Errorf("page %q: with the wrong adapter every visit is the first", body)
		}
	}
	ev := events()
	if len(ev) != 2 {
		t.Fatalf("events %+v, want an EventUncommitted for each lost session", ev)
	}
	if e := ev[0]; e.Reason != "written-around" || e.Path != "/" || !errors.Is(e.Err, sesame.ErrUncommitted) {
		t.Errorf("event %+v, want reason written-around on / wrapping ErrUncommitted", e)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "reason=written-around") ||
		!strings.Contains(l, "written around the ResponseWriter") {
		t.Errorf("the lost session was not logged at Error with its cause; logs:\n%s", l)
	}
	if id := b.sessionID(); id != "" {
		t.Errorf("the wrong adapter sent a session cookie %q: it is not the mistake this test reproduces", id)
	}
}

// TestTheRightWiringReportsNothing: the same flow with the engine inside
// sesame's middleware keeps the session and reports nothing.
func TestTheRightWiringReportsNothing(t *testing.T) {
	cfg, logs, events := observed()
	b := newBrowser(t, cfg)
	tok := b.token()
	if _, _, body := b.do("POST", "/login", url.Values{"name": {"Ada"}, "_csrf": {tok}}, "same-origin"); !strings.Contains(body, "Hello Ada") {
		t.Fatalf("after login: %q", body)
	}
	if ev := events(); len(ev) != 0 || logs.String() != "" {
		t.Errorf("events %+v and logs %q with the right wiring, want none", ev, logs.String())
	}
}
