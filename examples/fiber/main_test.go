package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/store"
)

// browser drives the app over HTTP with a cookie jar, as a browser would.
type browser struct {
	t   *testing.T
	url string
	c   *http.Client
}

// newBrowser serves the app on a loopback port. The session cookie is sent
// over plain HTTP (AllowInsecureHTTP), as on a laptop.
func newBrowser(t *testing.T, cfg sesame.Config) *browser {
	t.Helper()
	cfg.Cookie.AllowInsecureHTTP = true
	cfg.Logger = slog.New(slog.DiscardHandler)
	app, err := newApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, url: "http://" + ln.Addr().String(), c: &http.Client{Jar: jar}}
}

// do sends a request (a form when form is not nil) and returns the final
// response's status, Content-Type and body, after redirects.
func (b *browser) do(method, path string, form url.Values, site string) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.url+path, body)
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
	u, _ := url.Parse(b.url)
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
	req, _ := http.NewRequest("GET", b.url+"/api/me", nil)
	req.AddCookie(&http.Cookie{Name: "sid", Value: before})
	resp, err := http.DefaultClient.Do(req) // no jar: only the old cookie
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

// TestHandlerErrorsAreJSONToo: fiber's ErrorHandler renders the handlers'
// errors and sesame's alike.
func TestHandlerErrorsAreJSONToo(t *testing.T) {
	b := newBrowser(t, sesame.Config{})
	code, ctype, body := b.do("POST", "/login", url.Values{"name": {" "}, "_csrf": {b.token()}}, "same-origin")
	if code != http.StatusBadRequest || !strings.HasPrefix(ctype, "application/json") || !strings.Contains(body, `"error":"a name is required"`) {
		t.Errorf("a login without a name: %d %s %q, want 400 JSON", code, ctype, body)
	}
}
